"""What only the PostgreSQL engine has to get right: connecting, waiting, the server's errors, wide values.

The engine-neutral behaviour (quota, jobs, recovery, migrations, budgets) is proven by the
storage suites, which run on both engines through the ``storage`` fixture.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from services.db import Database, StorageUnusable
from services.errors import StorageBusy, StorageFull
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import GeneratedImage
from tests.fakes.backend import render_png
from tests.helpers.jobs import ALICE
from tests.helpers.postgres import PostgresServer


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_is_one_line_without_the_password(tmp_path: Path) -> None:
    port = _closed_port()
    with pytest.raises(StorageUnusable) as err:
        await Database.open(tmp_path / "data", url=f"postgresql://easel:hunter2@127.0.0.1:{port}/easel")
    message = str(err.value)
    assert f"postgresql://easel@127.0.0.1:{port}/easel" in message and "EASEL_DATABASE_URL" in message
    assert "hunter2" not in message and "\n" not in message


async def test_a_database_that_does_not_exist_is_named(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    with pytest.raises(StorageUnusable, match='database "no_such_db" does not exist'):
        await Database.open(tmp_path / "data", url=postgres_server.url("no_such_db"))


async def test_a_url_of_another_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StorageUnusable, match="must start with postgresql://"):
        await Database.open(tmp_path / "data", url="mysql://easel@127.0.0.1/easel")


async def test_the_data_dir_still_holds_the_files_and_the_tables_are_on_the_server(
    tmp_path: Path, database_url: str
) -> None:
    db = await Database.open(tmp_path / "data", url=database_url)
    try:
        assert db.dialect == "postgresql" and db.data_dir == tmp_path / "data"
        assert not (tmp_path / "data" / "easel.sqlite3").exists()
        assert {"jobs", "quota_reservations", "images", "audit_log"} <= await db.table_names()
    finally:
        await db.close()
    again = await Database.open(tmp_path / "elsewhere", url=database_url)  # migrations are not run twice
    try:
        rows = await again.fetchall("SELECT version FROM schema_version ORDER BY version")
        assert [row["version"] for row in rows] == list(range(1, len(rows) + 1))
    finally:
        await again.close()


async def test_a_write_lock_held_past_the_wait_is_storage_busy_and_spends_nothing(
    tmp_path: Path, database_url: str
) -> None:
    holder = await Database.open(tmp_path / "a", url=database_url)
    waiter = await Database.open(tmp_path / "b", url=database_url, lock_wait_s=0.3)
    quota = QuotaBook(waiter, daily_limit=5)
    try:
        async with holder.transaction():  # another process in the middle of a write
            with pytest.raises(StorageBusy) as err:
                async with asyncio.timeout(10):
                    await quota.reserve(ALICE, 2, "job-1")
        assert "Your quota was not spent" in err.value.user_message
        assert await waiter.fetchall("SELECT id FROM quota_reservations") == []
        await quota.reserve(ALICE, 2, "job-2")  # free again: the same pool goes on
        assert (await quota.status(ALICE)).used == 2
    finally:
        await holder.close()
        await waiter.close()


async def test_a_full_disk_on_the_server_is_storage_full(tmp_path: Path, database_url: str) -> None:
    """The server's own SQLSTATE 53100 (disk_full), raised where a real full disk would fail the write."""
    db = await Database.open(tmp_path / "data", url=database_url)
    store = ImageStore(tmp_path / "data", db)
    try:
        await db.execute(
            "CREATE FUNCTION disk_is_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full';"
            " END $$"
        )
        await db.execute(
            "CREATE TRIGGER no_space BEFORE INSERT ON images FOR EACH ROW EXECUTE FUNCTION disk_is_full()"
        )
        image = GeneratedImage(png=render_png(8, 8, 1), seed=1, width=8, height=8)
        with pytest.raises(StorageFull) as err:
            await store.save_original("job-1", 0, image)
        assert err.value.path.startswith("postgresql://")
    finally:
        await db.close()


async def test_a_cancelled_transaction_is_rolled_back_and_the_pool_stays_usable(
    tmp_path: Path, database_url: str
) -> None:
    db = await Database.open(tmp_path / "data", url=database_url)
    inside = asyncio.Event()

    async def interrupted() -> None:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO bans (requester_key, banned_by, banned_at) VALUES ('k', 'm', 1)")
            inside.set()
            await asyncio.sleep(3600)

    try:
        task = asyncio.create_task(interrupted())
        await asyncio.wait_for(inside.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await db.fetchall("SELECT * FROM bans") == []
        async with asyncio.timeout(10), db.transaction() as tx:  # the write lock was released
            assert (
                await tx.execute(
                    "INSERT INTO bans (requester_key, banned_by, banned_at) VALUES ('k', 'm', 1)"
                )
                == 1
            )
    finally:
        await db.close()


async def test_wide_values_survive_the_round_trip(tmp_path: Path, database_url: str) -> None:
    """Seeds up to 2³² − 1 and sub-second Unix times: PostgreSQL's INTEGER and REAL would not hold them."""
    db = await Database.open(tmp_path / "data", url=database_url)
    store = ImageStore(tmp_path / "data", db)
    try:
        image = GeneratedImage(png=render_png(8, 8, 1), seed=4_294_967_295, width=8, height=8)
        await store.save_original("job-1", 0, image)
        await store.save_original("job-1", 0, image)  # replacing an earlier one (the portable upsert)
        await db.execute(
            "INSERT INTO audit_log (at, actor_key, action) VALUES (?, 'discord:1', 'ban')",
            (1_764_000_000.125,),
        )
        row = await db.fetchone("SELECT seed FROM images WHERE job_id = 'job-1'")
        assert row is not None and row["seed"] == 4_294_967_295 and row[0] == 4_294_967_295
        at = await db.fetchone("SELECT at FROM audit_log")
        assert at is not None and at["at"] == 1_764_000_000.125
        assert dict(at) == {"at": 1_764_000_000.125}
    finally:
        await db.close()
