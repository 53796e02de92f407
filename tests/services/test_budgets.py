"""Community budgets (issue 10): exact under concurrency, each refusal names its limit, nothing spent."""

from __future__ import annotations

import asyncio

from commands.replies import PLAIN, error_text, quota_text
from services.budgets import BudgetBook, LimitName, Limits
from services.db import Database
from services.errors import BudgetExceeded, QuotaExceeded
from services.quota import QuotaBook
from services.types import Requester, Venue
from tests.helpers.clock import FakeClock

GUILD = "g1"


def member(i: int, *, channel: str = "c1", roles: frozenset[str] = frozenset()) -> Requester:
    return Requester("discord", str(1000 + i), f"p{i}", Venue(GUILD, channel, roles, False))


def books(db: Database, clock: FakeClock, **limits: object) -> tuple[QuotaBook, BudgetBook]:
    budgets = BudgetBook(db, Limits(person_day=25, **limits), clock)  # type: ignore[arg-type]
    return QuotaBook(db, 25, clock, budgets=budgets), budgets


async def _spent(db: Database) -> int:
    row = await db.fetchone("SELECT COALESCE(SUM(charged), 0) AS n FROM quota_reservations")
    assert row is not None
    return int(row["n"])


async def test_server_budget_of_10_grants_exactly_10_of_50_concurrent_requests_from_20_people(
    db: Database,
) -> None:
    quota, _ = books(db, FakeClock(), server_day=10)
    results = await asyncio.gather(
        *(quota.reserve(member(i % 20), 1, f"j{i}") for i in range(50)), return_exceptions=True
    )
    granted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    assert (len(granted), len(refused)) == (10, 40)
    assert all(e.limit == LimitName.SERVER_DAY and e.left == 0 and e.allowed == 10 for e in refused)
    assert await _spent(db) == 10
    text = error_text(refused[0], PLAIN)
    assert "This server's daily budget has 0 of 10 units left and this request needs 1." in text
    assert "It resets at " in text and text.endswith("Nothing was spent.")


async def test_the_month_budget_counts_across_days_and_says_when_it_resets(db: Database) -> None:
    clock = FakeClock()
    quota, _ = books(db, clock, server_month=5)
    await quota.reserve(member(1), 3, "a")
    clock.now += 2 * 86400
    try:
        await quota.reserve(member(2), 3, "b")
    except BudgetExceeded as exc:
        assert (exc.limit, exc.left, exc.requested) == (LimitName.SERVER_MONTH, 2, 3)
        assert exc.resets_at is not None and exc.resets_at.day == 1
        assert "This server's monthly budget has 2 of 5 units left" in error_text(exc, PLAIN)
    else:
        raise AssertionError("the month budget let 6 of 5 through")
    assert await _spent(db) == 3
    await quota.reserve(member(2), 2, "c")  # what is left still fits


async def test_cooldown_concurrency_channel_and_ban_refuse_with_their_sentence(db: Database) -> None:
    clock = FakeClock()
    quota, budgets = books(db, clock, cooldown_s=30, concurrent=1, deny_channels=frozenset({"c9"}))
    first = await quota.reserve(member(1), 1, "a")
    refusals: list[BudgetExceeded] = []
    for who in (member(1), member(2, channel="c9")):
        try:
            await quota.reserve(who, 1, "x")
        except BudgetExceeded as exc:
            refusals.append(exc)
    assert [e.limit for e in refusals] == [LimitName.COOLDOWN, LimitName.CHANNEL]
    assert "the cool-down here is 30 s" in error_text(refusals[0], PLAIN)
    assert "isn't enabled in this channel" in error_text(refusals[1], PLAIN)
    clock.now += 31
    try:
        await quota.reserve(member(1), 1, "b")  # the first job is still running
    except BudgetExceeded as exc:
        assert exc.limit == LimitName.CONCURRENT
        assert "1 of your 1 allowed jobs running at once" in error_text(exc, PLAIN)
    else:
        raise AssertionError("a second concurrent job was allowed")
    await quota.commit(first.id, delivered=1)
    await quota.reserve(member(1), 1, "b")
    assert await budgets.ban("discord:9", member(3).key, "spam", GUILD)
    try:
        await quota.reserve(member(3), 1, "c")
    except BudgetExceeded as exc:
        assert exc.limit == LimitName.BAN and "blocked you from the bot" in error_text(exc, PLAIN)
    else:
        raise AssertionError("a banned person got a job")
    assert await _spent(db) == 2
    assert await budgets.unban("discord:9", member(3).key, GUILD)
    await quota.reserve(member(3), 1, "c")
    actions = [e.action for e in await budgets.audit.recent(server_id=GUILD)]
    assert actions == ["unban", "ban"]


async def test_role_override_grants_and_admin_overrides_set_the_person_limit(db: Database) -> None:
    clock = FakeClock()
    quota, budgets = books(db, clock)
    await budgets.set_limit("discord:9", GUILD, "person_day", "2")
    await budgets.set_limit("discord:9", GUILD, "role:r-artist", "6")
    artist = member(1, roles=frozenset({"r-artist", "r-other"}))
    await quota.reserve(artist, 6, "a")
    try:
        await quota.reserve(member(2), 3, "b")
    except QuotaExceeded as exc:
        assert exc.limit == 2
    else:
        raise AssertionError("the server's person_day override was ignored")
    await budgets.grant("discord:9", member(2).key, 1, GUILD)
    await quota.reserve(member(2), 3, "b")  # 2 + 1 granted
    status = await quota.status(member(2))
    assert (status.limit, status.remaining) == (3, 0)
    await budgets.set_limit("discord:9", GUILD, "server_day", "20")
    text = quota_text(await quota.status(artist), PLAIN)
    assert "of your 6 daily units left" in text and "This server's daily budget: 11 of 20 left" in text
    await budgets.set_limit("discord:9", GUILD, "person_day", "default")
    assert (await quota.status(member(2))).limit == 26  # env default 25 + the grant


async def test_bad_admin_values_are_refused_politely(db: Database) -> None:
    _, budgets = books(db, FakeClock())
    for name, value in (("bogus", "1"), ("server_day", "-3"), ("cooldown", "soon")):
        try:
            await budgets.set_limit("discord:9", GUILD, name, value)
        except Exception as exc:
            assert type(exc).__name__ == "InvalidRequest"
        else:
            raise AssertionError(f"{name}={value} was accepted")
    assert await db.fetchall("SELECT * FROM budget_overrides") == []
