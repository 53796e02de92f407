"""QuotaBook: atomic reservations, commit/refund idempotency, rolling 24 h window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.db import Database
from services.errors import QuotaExceeded
from services.quota import WINDOW_S, QuotaBook, ReservationState
from services.types import Requester
from tests.helpers.clock import T0, FakeClock

ALICE = Requester("discord", "1001", "alice")
BOB = Requester("slack", "U2", "bob")


async def _try_reserve(book: QuotaBook, requester: Requester, n: int, job: str) -> int:
    try:
        await book.reserve(requester, n, job)
    except QuotaExceeded:
        return 0
    return n


async def test_200_concurrent_single_reservations_grant_exactly_the_limit(db: Database) -> None:
    book = QuotaBook(db, daily_limit=10)
    results = await asyncio.gather(
        *(book.reserve(ALICE, 1, f"job{i}") for i in range(200)), return_exceptions=True
    )
    granted = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, QuotaExceeded)]
    assert len(granted) == 10
    assert len(refused) == 190
    assert all(e.limit == 10 and e.used == 10 and e.requested == 1 for e in refused)
    status = await book.status(ALICE)
    assert (status.used, status.remaining) == (10, 0)
    row = await db.fetchone("SELECT SUM(charged) AS s, COUNT(*) AS c FROM quota_reservations")
    assert row is not None and (row["s"], row["c"]) == (10, 10)


async def test_concurrent_mixed_sizes_never_overspend(db: Database) -> None:
    book = QuotaBook(db, daily_limit=10)
    sizes = [3, 2, 1] * 66 + [1, 1]  # the last requests are single images: any slack gets used
    got = await asyncio.gather(*(_try_reserve(book, ALICE, n, f"j{i}") for i, n in enumerate(sizes)))
    assert sum(got) == 10
    assert (await book.status(ALICE)).used == 10
    # Another user's quota is untouched.
    assert (await book.status(BOB)).used == 0
    await book.reserve(BOB, 10, "bob-job")


async def test_two_connections_on_one_file_still_grant_exactly_the_limit(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE makes the read-modify-write atomic across connections (processes)."""
    first = await Database.open(tmp_path / "data")
    second = await Database.open(tmp_path / "data")
    try:
        books = [QuotaBook(first, daily_limit=10), QuotaBook(second, daily_limit=10)]
        got = await asyncio.gather(*(_try_reserve(books[i % 2], ALICE, 1, f"job{i}") for i in range(100)))
        assert sum(got) == 10
    finally:
        await first.close()
        await second.close()


async def test_commit_charges_delivered_and_refunds_the_rest_once(db: Database) -> None:
    book = QuotaBook(db, daily_limit=10)
    reservation = await book.reserve(ALICE, 4, "job1")
    assert reservation.state is ReservationState.RESERVED and reservation.charged == 4
    assert (await book.status(ALICE)).used == 4
    assert await book.commit(reservation.id, delivered=3) is True
    assert (await book.status(ALICE)).used == 3
    # Idempotent: neither a second commit nor a late refund changes anything.
    assert await book.commit(reservation.id, delivered=4) is False
    assert await book.refund(reservation.id) is False
    stored = await book.get(reservation.id)
    assert stored is not None and (stored.state, stored.charged) == (ReservationState.COMMITTED, 3)
    assert (await book.status(ALICE)).used == 3


async def test_commit_is_clamped_to_the_reservation(db: Database) -> None:
    book = QuotaBook(db, daily_limit=10)
    reservation = await book.reserve(ALICE, 2, "job1")
    await book.commit(reservation.id, delivered=5)
    assert (await book.status(ALICE)).used == 2


async def test_refund_gives_everything_back_once(db: Database) -> None:
    book = QuotaBook(db, daily_limit=5)
    reservation = await book.reserve(ALICE, 5, "job1")
    with pytest.raises(QuotaExceeded):
        await book.reserve(ALICE, 1, "job2")
    assert await book.refund(reservation.id) is True
    assert await book.refund(reservation.id) is False
    assert await book.commit(reservation.id, delivered=5) is False
    assert (await book.status(ALICE)).used == 0
    await book.reserve(ALICE, 5, "job3")
    assert [r.job_id for r in await book.open_reservations()] == ["job3"]


async def test_rolling_window_with_injected_clock(db: Database) -> None:
    clock = FakeClock()
    book = QuotaBook(db, daily_limit=3, clock=clock)
    first = await book.reserve(ALICE, 2, "a")
    await book.commit(first.id, delivered=2)
    clock.now = T0 + 3600
    await book.reserve(ALICE, 1, "b")

    clock.now = T0 + 7200
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 1, "c")
    err = exc_info.value
    assert (err.limit, err.used, err.requested) == (3, 3, 1)
    assert err.resets_at == datetime.fromtimestamp(T0 + WINDOW_S, UTC)  # the first two units age out
    assert "UTC" in err.user_message
    status = await book.status(ALICE)
    assert (status.used, status.remaining) == (3, 0)
    assert status.resets_at == datetime.fromtimestamp(T0 + WINDOW_S, UTC)

    # Needing 2 more: freeing the first row (2 units) is enough.
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 2, "c")
    assert exc_info.value.resets_at == datetime.fromtimestamp(T0 + WINDOW_S, UTC)
    # Needing 3: both rows must age out.
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 3, "c")
    assert exc_info.value.resets_at == datetime.fromtimestamp(T0 + 3600 + WINDOW_S, UTC)

    clock.now = T0 + WINDOW_S + 1
    await book.reserve(ALICE, 2, "d")
    status = await book.status(ALICE)
    assert (status.used, status.remaining) == (3, 0)
    assert status.resets_at == datetime.fromtimestamp(T0 + 3600 + WINDOW_S, UTC)

    clock.now = T0 + 3 * WINDOW_S
    status = await book.status(ALICE)
    assert (status.used, status.remaining, status.resets_at) == (0, 3, None)


async def test_request_larger_than_the_limit_is_refused(db: Database) -> None:
    clock = FakeClock()
    book = QuotaBook(db, daily_limit=4, clock=clock)
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 5, "big")
    assert exc_info.value.used == 0
    assert exc_info.value.resets_at == datetime.fromtimestamp(T0 + WINDOW_S, UTC)
    assert await book.open_reservations() == []


async def test_zero_limit_disables_generation(db: Database) -> None:
    book = QuotaBook(db, daily_limit=0)
    with pytest.raises(QuotaExceeded) as exc_info:
        await book.reserve(ALICE, 1, "job")
    assert exc_info.value.limit == 0
    status = await book.status(ALICE)
    assert (status.limit, status.used, status.remaining) == (0, 0, 0)


async def test_refused_reservation_writes_nothing_and_rolls_back_its_transaction(db: Database) -> None:
    book = QuotaBook(db, daily_limit=1)
    await book.reserve(ALICE, 1, "a")
    with pytest.raises(QuotaExceeded):
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO quota_reservations (id, requester_key, job_id, units, charged, state, created_at)"
                " VALUES ('x', 'k', 'j', 1, 1, 'reserved', 0)"
            )
            await book.reserve(ALICE, 1, "b", tx=tx)
    row = await db.fetchone("SELECT COUNT(*) AS c FROM quota_reservations")
    assert row is not None and row["c"] == 1
