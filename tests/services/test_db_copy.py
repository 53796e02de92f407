"""Moving off SQLite: ``easel migrate --to postgresql://…`` copies every table into an empty database."""

from __future__ import annotations

import asyncio
from pathlib import Path

from services.audit import AuditLog
from services.budgets import BudgetBook, Limits
from services.db import Database
from services.db.copy import TargetNotEmpty, copy_database
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.jobs import ALICE, BOB, ORIGIN, build_services
from tests.helpers.postgres import PostgresServer
from tests.helpers.requests import imagine


async def _fill_sqlite(data_dir: Path) -> list[str]:
    """A data dir as easel leaves it: finished jobs with images, reservations, a ban, a grant, audit rows."""
    svc = await build_services(data_dir, FakeBackend())
    await svc.jobs.start()
    ids = []
    for requester, n in ((ALICE, 2), (BOB, 1), (ALICE, 1)):
        submitted = await svc.jobs.submit(requester, imagine(samples=n), origin=ORIGIN)
        await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 10)
        ids.append(submitted.job_id)
    await svc.jobs.stop()
    budgets = BudgetBook(svc.db, Limits(person_day=25))
    await budgets.ban("discord:9", "discord:666", reason="spam")
    await budgets.grant("discord:9", ALICE.key, 5)
    await svc.db.close()
    return ids


async def _rows(db: Database, table: str) -> list[tuple[object, ...]]:
    columns = await db.column_names(table)
    rows = await db.fetchall(f"SELECT {', '.join(columns)} FROM {table}")
    return sorted((tuple(row[c] for c in columns) for row in rows), key=repr)


async def test_every_row_arrives_in_order_and_new_rows_continue_after_them(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "data"
    ids = await _fill_sqlite(data_dir)
    source = await Database.open(data_dir)
    target = await Database.open(tmp_path / "new", url=database_url)
    try:
        report = await copy_database(source, target)
        assert report.tables["jobs"] == 3 and report.tables["images"] == 4 and report.tables["audit_log"] == 2
        for table in sorted(await source.table_names() - {"schema_version"}):
            assert await _rows(target, table) == await _rows(source, table), table
        try:
            await copy_database(source, target)
            raise AssertionError("a second copy must be refused")
        except TargetNotEmpty as exc:
            assert "already has rows" in str(exc)
    finally:
        await source.close()
        await target.close()

    # easel on PostgreSQL goes on where SQLite left off: quotas, history order, new ids, originals.
    db = await Database.open(data_dir, url=database_url)
    store = ImageStore(data_dir, db)
    quota = QuotaBook(db, 50)
    jobs = JobService(db=db, quota=quota, store=store, backend=FakeBackend(), watermarker=Watermarker("x"))
    try:
        assert (await quota.status(ALICE)).used == 3 and (await quota.status(BOB)).used == 1
        recent = await jobs.history(ALICE)
        assert [r.job_id for r in recent] == [ids[2], ids[0]]
        assert (await store.load_original(ids[0], 1)).width > 0
        audit = AuditLog(db)
        await audit.record("discord:9", "unban", target="discord:666")
        assert [e.action for e in await audit.recent()] == ["unban", "grant", "ban"]
        await db.execute(
            "INSERT INTO jobs (id, requester_key, requester_json, platform, origin_json, request_json, status,"
            " created_at, n_requested) VALUES ('late', 'k', '{}', 'test', '{}', '{}', 'done', 0, 1)"
        )
        newest = await db.fetchone("SELECT id FROM jobs ORDER BY rowid DESC LIMIT 1")
        assert newest is not None and newest["id"] == "late"  # the identity continued past the copied rows
    finally:
        await db.close()


async def test_easel_migrate_to_copies_a_snapshot_and_never_prints_the_password(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    data_dir = tmp_path / "data"
    await _fill_sqlite(data_dir)
    url = (await postgres_server.create_database()).replace("easel@", "easel:not-a-real-secret@")
    env = clean_env(EASEL_DATA_DIR=str(data_dir))
    done = await run_easel("migrate", "--to", url, env=env, cwd=tmp_path)
    assert done.code == 0, done.stderr
    assert "copied " in done.stdout and "set EASEL_DATABASE_URL" in done.stdout
    assert "not-a-real-secret" not in done.stdout + done.stderr

    again = await run_easel("migrate", "--to", url, env=env, cwd=tmp_path)
    assert again.code == 2 and "already has rows" in again.stderr
    assert "not-a-real-secret" not in again.stdout + again.stderr

    shown = await run_easel("migrate", env={**env, "EASEL_DATABASE_URL": url}, cwd=tmp_path)
    assert shown.code == 0 and "schema version" in shown.stdout
    no_source = await run_easel(
        "migrate", "--to", url, env=clean_env(EASEL_DATA_DIR=str(tmp_path / "x")), cwd=tmp_path
    )
    assert no_source.code == 2 and "no SQLite database" in no_source.stderr
