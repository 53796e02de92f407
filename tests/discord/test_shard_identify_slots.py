"""IDENTIFY turns reserved in the database (services.identify_slots), on SQLite and PostgreSQL.

A turn is a time by the database server's clock; reserving one never waits, it tells how long to.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from bot.discord.shards import IdentifyBuckets
from services.db import Database
from services.identify_slots import IdentifySlots

WINDOW_S = 5.0
BOT = 4242


async def test_a_bucket_turn_follows_the_last_one_by_the_window(tmp_path: Path, storage: str | None) -> None:
    db = await Database.open(tmp_path / "d", url=storage)
    slots = IdentifySlots(db)
    try:
        assert await slots.reserve(BOT, 0, window_s=WINDOW_S) == 0.0
        second = await slots.reserve(BOT, 0, window_s=WINDOW_S)
        third = await slots.reserve(BOT, 0, window_s=WINDOW_S)
        assert WINDOW_S - 2 < second <= WINDOW_S  # queued behind the first, not at once
        assert 2 * WINDOW_S - 2 < third <= 2 * WINDOW_S  # and behind the second, no lock held
        assert await slots.reserve(BOT, 1, window_s=WINDOW_S) == 0.0  # another bucket is free
        assert await slots.reserve(BOT + 1, 0, window_s=WINDOW_S) == 0.0  # and so is another bot's
    finally:
        await db.close()


async def test_processes_reserving_at_once_get_one_turn_each(tmp_path: Path, database_url: str) -> None:
    """Two "processes" (two databases opened on one server), two reservations each, all at once."""
    dbs = [await Database.open(tmp_path / name, url=database_url) for name in ("a", "b")]
    try:
        slots = [IdentifySlots(db) for db in dbs]
        delays = await asyncio.gather(*(s.reserve(BOT, 3, window_s=WINDOW_S) for s in slots * 2))
        turns = sorted(round(d / WINDOW_S) for d in delays)
        assert turns == [0, 1, 2, 3]
        assert all(abs(d - round(d / WINDOW_S) * WINDOW_S) < 2 for d in delays)
    finally:
        for db in dbs:
            await db.close()


async def test_a_database_that_fails_leaves_the_pacing_to_this_process(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway must still connect when the database is gone: in-memory turns for that IDENTIFY."""
    db = await Database.open(tmp_path / "d", url=database_url)
    await db.close()
    buckets = IdentifyBuckets(shared=IdentifySlots(db))
    buckets.max_concurrency = 2
    with caplog.at_level(logging.WARNING, logger="bot.discord.shards"):
        await asyncio.wait_for(buckets.wait_turn(5), 3)
    assert [r.getMessage() for r in caplog.records] == ["discord.identify_turn_unshared"]
    assert caplog.records[0].__dict__["bucket"] == 1
