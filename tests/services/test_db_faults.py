"""The database under another program's lock, and a damaged file: bounded waits, clear lines, no repair."""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import pytest

from services.db import DB_FILENAME, Database, StorageUnusable, probe_database
from services.errors import StorageBusy
from services.quota import QuotaBook
from tests.helpers.filesystems import ExclusiveHolder
from tests.helpers.jobs import ALICE


async def test_lock_held_past_the_wait_is_storage_busy_and_changes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await Database.open(tmp_path / "data", busy_timeout_ms=50, lock_wait_s=0.4)
    quota = QuotaBook(db, daily_limit=5)
    try:
        with caplog.at_level(logging.WARNING, logger="services.db"), ExclusiveHolder(db.path):
            with pytest.raises(StorageBusy) as err:
                async with db.transaction() as tx:
                    await quota.reserve(ALICE, 2, "job-1", tx=tx)
            with pytest.raises(StorageBusy):
                await db.execute("INSERT INTO schema_version (version, applied_at) VALUES (77, 0)")
        assert "Your quota was not spent" in err.value.user_message
        locked = [r for r in caplog.records if r.getMessage() == "db.locked"]
        assert locked and getattr(locked[0], "path", None) == str(db.path)
        assert [r for r in caplog.records if r.getMessage() == "db.lock_wait_exceeded"]
        assert await db.fetchall("SELECT id FROM quota_reservations") == []
        assert (await quota.status(ALICE)).used == 0
    finally:
        await db.close()


async def test_lock_released_within_the_wait_goes_on_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = await Database.open(tmp_path / "data", busy_timeout_ms=50, lock_wait_s=10)
    quota = QuotaBook(db, daily_limit=5)
    try:
        with caplog.at_level(logging.INFO, logger="services.db"), ExclusiveHolder(db.path) as holder:
            threading.Timer(0.5, holder.release).start()
            async with asyncio.timeout(10):
                async with db.transaction() as tx:
                    await quota.reserve(ALICE, 2, "job-1", tx=tx)
        messages = [r.getMessage() for r in caplog.records]
        assert "db.locked" in messages and "db.lock_released" in messages
        assert len(await db.fetchall("SELECT id FROM quota_reservations")) == 1  # charged once
    finally:
        await db.close()


async def test_open_under_a_lock_past_the_wait_names_the_file(tmp_path: Path) -> None:
    first = await Database.open(tmp_path / "data")
    await first.close()
    with ExclusiveHolder(tmp_path / "data" / DB_FILENAME), pytest.raises(StorageUnusable) as err:
        await Database.open(tmp_path / "data", busy_timeout_ms=50, lock_wait_s=0.3)
    assert str(tmp_path / "data" / DB_FILENAME) in str(err.value) and "locked by another program" in str(
        err.value
    )


async def test_damaged_pages_are_reported_by_the_probe_and_left_alone(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "data")
    await db.close()
    path = tmp_path / "data" / DB_FILENAME
    raw = bytearray(path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # the first page's b-tree, header intact
    path.write_bytes(bytes(raw))
    with pytest.raises(StorageUnusable) as err:
        await asyncio.to_thread(probe_database, tmp_path / "data")
    assert "damaged" in str(err.value) and "backup" in str(err.value)
    assert path.read_bytes() == bytes(raw)
