"""``easel backup PATH`` while a job service keeps writing; the copy restores quotas and history."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

from services.types import Requester
from tests.fakes.backend import FakeBackend
from tests.helpers.cli import clean_env, run_easel
from tests.helpers.jobs import ALICE, BOB, ORIGIN, Services, build_services
from tests.helpers.requests import imagine

CAROL = Requester("cli", "carol", "carol")


async def _history(svc: Services) -> list[tuple[str, str, str]]:
    rows = await svc.db.fetchall("SELECT id, requester_key, status FROM jobs ORDER BY id")
    return [(r["id"], r["requester_key"], r["status"]) for r in rows]


async def test_backup_while_jobs_run_restores_quotas_and_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    svc = await build_services(data, FakeBackend(latency_s=0.01), daily_limit=1000)
    await svc.jobs.start()
    env = clean_env(EASEL_DATA_DIR=str(data))
    stop = asyncio.Event()
    three_done = asyncio.Event()

    async def keep_writing() -> int:
        n = 0
        while not stop.is_set():
            who = ALICE if n % 2 else BOB
            submitted = await svc.jobs.submit(who, imagine(f"lighthouse {n}", samples=2), origin=ORIGIN)
            await svc.jobs.wait(submitted.job_id)
            n += 1
            if n >= 3:
                three_done.set()
        return n

    writer = asyncio.create_task(keep_writing())
    try:
        await asyncio.wait_for(three_done.wait(), 30)
        during = await run_easel("backup", str(tmp_path / "during.sqlite3"), env=env, cwd=tmp_path)
        assert during.code == 0, during.stderr
        assert "integrity ok" in during.stdout
    finally:
        stop.set()
        written = await writer
    assert written >= 3
    with sqlite3.connect(tmp_path / "during.sqlite3") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM jobs").fetchone()[0] >= 3
    copy.close()

    after = await run_easel("backup", str(tmp_path / "after.sqlite3"), env=env, cwd=tmp_path)
    assert after.code == 0, after.stderr
    expected = (await svc.quota.status(ALICE), await svc.quota.status(BOB), await _history(svc))
    await svc.jobs.stop(grace_s=0)
    await svc.db.close()

    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copyfile(tmp_path / "after.sqlite3", fresh / "easel.sqlite3")
    restored = await build_services(fresh, FakeBackend(), daily_limit=1000)
    try:
        got = (await restored.quota.status(ALICE), await restored.quota.status(BOB), await _history(restored))
        assert got == expected
        assert expected[0].used > 0 and expected[1].used > 0
    finally:
        await restored.db.close()


async def test_backup_refuses_an_existing_file_and_a_missing_database(tmp_path: Path) -> None:
    taken = tmp_path / "taken.sqlite3"
    taken.write_bytes(b"keep me")
    env = clean_env(EASEL_DATA_DIR=str(tmp_path / "empty"))
    missing = await run_easel("backup", str(tmp_path / "new.sqlite3"), env=env, cwd=tmp_path)
    assert missing.code != 0 and "no database at" in missing.stderr
    svc = await build_services(tmp_path / "data", FakeBackend())
    await svc.db.close()
    exists = await run_easel(
        "backup", str(taken), env=clean_env(EASEL_DATA_DIR=str(tmp_path / "data")), cwd=tmp_path
    )
    assert exists.code != 0 and "already exists" in exists.stderr
    assert taken.read_bytes() == b"keep me"


async def test_easel_history_lists_an_accounts_jobs(tmp_path: Path) -> None:
    svc = await build_services(tmp_path / "data", FakeBackend())
    await svc.jobs.start()
    try:
        submitted = await svc.jobs.submit(CAROL, imagine("a fox in the snow"), origin=ORIGIN)
        await svc.jobs.wait(submitted.job_id)
    finally:
        await svc.jobs.stop(grace_s=0)
        await svc.db.close()
    env = clean_env(EASEL_DATA_DIR=str(tmp_path / "data"))
    shown = await run_easel("history", "carol", env=env, cwd=tmp_path)
    assert shown.code == 0, shown.stderr
    [line] = shown.stdout.splitlines()
    assert (
        "done" in line and "/imagine" in line and "a fox in the snow" in line and submitted.job_id[:8] in line
    )
    nobody = await run_easel("history", "cli:nobody", env=env, cwd=tmp_path)
    assert nobody.stdout.strip() == "cli:nobody: no jobs yet."
