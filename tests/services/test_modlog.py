"""The moderation log feed (services/modlog.py) over a real SQLite audit log: which lines, how they read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.audit import AuditLog
from services.db import Database
from services.modlog import EXCERPT_CHARS, ModLogFeed
from services.types import Requester, Venue

MOD = Requester("discord", "12", venue=Venue(server_id="900"))


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    db = await Database.open(tmp_path / "easel.sqlite3")
    yield AuditLog(db)
    await db.close()


async def test_a_feed_posts_new_entries_of_its_platform_and_the_operators(audit: AuditLog) -> None:
    await audit.record(MOD, "ban", target="discord:1", detail="before the feed started")
    posted: list[str] = []

    async def post(line: str) -> None:
        posted.append(line)

    feed = ModLogFeed(audit, "discord", post=post, escape=lambda t: t.replace("*", "\\*"))
    await feed.start()
    await audit.record(MOD, "ban", target="discord:34", detail="*spam*")
    await audit.record(Requester("slack", "U1"), "pause")  # another platform's
    await audit.record("cli:ops", "set_limit", target="server_day", detail="5", server_id="900")
    await audit.record(MOD, "policy.blocked", target="gore", detail="a gore scene " + "word " * 40)
    await feed.once()
    await feed.close()
    assert len(posted) == 3
    ban, operator, blocked = posted
    assert ban.endswith(" UTC · server 900 · discord:12 banned discord:34 — \\*spam\\*")
    assert operator.endswith("cli:ops set the limit server_day — 5")
    excerpt = blocked.split(" — ", 1)[1]
    assert blocked.split(" · ")[-1].startswith("discord:12 was refused by the prompt block list (rule gore)")
    assert len(excerpt) == EXCERPT_CHARS and excerpt.endswith("…")


async def test_failing_and_hanging_posts_are_skipped_and_the_feed_goes_on(audit: AuditLog) -> None:
    posted: list[str] = []
    calls = 0

    async def post(line: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("channel gone")
        if calls == 2:
            await asyncio.sleep(30)
        posted.append(line)

    feed = ModLogFeed(audit, "discord", post=post, post_timeout_s=0.1)
    await feed.start()
    for action in ("pause", "resume", "cancel"):
        await audit.record(MOD, action)
    await feed.once()
    await feed.once()  # nothing new: nothing posted again
    assert (feed.failed, feed.posted) == (2, 1)
    assert len(posted) == 1 and posted[0].endswith("discord:12 cancelled the job")
    await feed.close()


async def test_gateways_sharing_a_database_post_each_line_once_and_a_restart_goes_on(
    tmp_path: Path, storage: str | None
) -> None:
    """Two gateways run the same feed (same platform and channel) on one database; a third feed
    for another channel has its own stream; a feed started again posts what came meanwhile."""
    db = await Database.open(tmp_path / "data", url=storage)
    audit = AuditLog(db)
    try:
        posted: dict[str, list[str]] = {"a": [], "b": [], "other": []}

        def feed(name: str, channel: str) -> ModLogFeed:
            async def post(line: str) -> None:
                posted[name].append(line)

            return ModLogFeed(audit, "discord", post=post, channel=channel)

        first, second, other = feed("a", "55"), feed("b", "55"), feed("other", "77")
        for each in (first, second, other):
            await each.start()
        for n in range(6):
            await audit.record(MOD, "ban", target=f"discord:{n}")
            await asyncio.gather(first.once(), second.once(), other.once())
        shared = posted["a"] + posted["b"]
        assert sorted(line.rsplit(" ", 1)[1] for line in shared) == [f"discord:{n}" for n in range(6)]
        assert len(posted["other"]) == 6  # another channel: every line, once

        await first.close()
        await second.close()
        await audit.record(MOD, "unban", target="discord:3")  # while both gateways were down
        again = feed("a", "55")
        await again.start()
        await again.once()
        assert posted["a"][-1].endswith("lifted the ban on discord:3")
        assert len(posted["a"] + posted["b"]) == 7
    finally:
        await other.close()
        await db.close()
