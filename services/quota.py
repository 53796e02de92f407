"""Per-user image quota over a rolling 24 h window, kept in SQLite.

Usage::

    book = QuotaBook(db, daily_limit=25)
    reservation = await book.reserve(requester, 4, job_id)   # raises QuotaExceeded
    ...                                                       # the job runs
    await book.commit(reservation.id, delivered=3)           # 3 charged, 1 refunded
    # or: await book.refund(reservation.id)

A job reserves its images before it is queued, so concurrent requests can never
overspend; what the job does not deliver is given back. Every reservation is a row
whose ``charged`` column counts against the window from its ``created_at``:
``units`` while reserved, ``delivered`` once committed, 0 once refunded. ``commit``
and ``refund`` only act on a row still ``reserved``, which makes both idempotent:
calling them again after a crash and restart changes nothing, so an image is never
charged twice.

``daily_limit=0`` (``EASEL_DAILY_QUOTA=0``) disables generation for users: every
``reserve`` raises :class:`QuotaExceeded` with ``limit=0`` (front ends can say
"image generation is turned off" when they see it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import cast

from services.budgets import BudgetBook, BudgetLine
from services.db import Database, Row, Transaction
from services.errors import QuotaExceeded
from services.types import Requester

__all__ = ["WINDOW_S", "Clock", "QuotaBook", "QuotaStatus", "Reservation", "ReservationState"]

WINDOW_S = 24 * 60 * 60

Clock = Callable[[], float]
"""Returns the current time as Unix seconds (``time.time``); tests inject their own."""


class ReservationState(StrEnum):
    RESERVED = "reserved"
    COMMITTED = "committed"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    requester_key: str
    job_id: str
    units: int
    charged: int
    state: ReservationState
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QuotaStatus:
    """What ``/quota`` shows, in cost units. ``resets_at``: when the next unit comes back (None if none used)."""

    limit: int
    used: int
    remaining: int
    resets_at: datetime | None
    budgets: tuple[BudgetLine, ...] = ()
    """The other limits that apply (server day/month, concurrency, cool-down)."""
    images: int | None = None
    """Images the person's jobs made in the same window (filled by the job service; None: unknown)."""


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


class QuotaBook:
    """Reserve, commit and refund images per :attr:`Requester.key` (see module docstring)."""

    def __init__(
        self, db: Database, daily_limit: int, clock: Clock = time.time, *, budgets: BudgetBook | None = None
    ) -> None:
        """``budgets``: the community limits (issue 10), checked in the reservation's transaction."""
        if daily_limit < 0:
            raise ValueError("daily_limit must be >= 0")
        self.db = db
        self.daily_limit = daily_limit
        self.budgets = budgets
        self._clock = clock

    async def reserve(
        self, requester: Requester, n: int, job_id: str, *, tx: Transaction | None = None
    ) -> Reservation:
        """Atomically reserve ``n`` images for ``job_id`` or raise :class:`QuotaExceeded`.

        Pass ``tx`` to make the reservation part of a larger transaction (the job row is
        written in the same one, so a crash can never leave a reservation without a job).
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        if tx is not None:
            return await self._reserve(tx, requester, n, job_id)
        async with self.db.transaction() as own:
            return await self._reserve(own, requester, n, job_id)

    async def _reserve(self, tx: Transaction, requester: Requester, n: int, job_id: str) -> Reservation:
        now = self._clock()
        key = requester.key
        limit = self.daily_limit
        if self.budgets is not None and limit > 0:
            limit = await self.budgets.check(tx, requester, n, now)
        charges = await self._charges(tx, key, now)
        used = sum(units for _, units in charges)
        if used + n > limit:
            raise QuotaExceeded(
                limit=limit,
                used=used,
                requested=n,
                resets_at=_dt(self._fits_at(charges, used, n, now, limit)),
            )
        reservation = Reservation(
            id=uuid.uuid4().hex,
            requester_key=key,
            job_id=job_id,
            units=n,
            charged=n,
            state=ReservationState.RESERVED,
            created_at=_dt(now),
        )
        await tx.execute(
            "INSERT INTO quota_reservations"
            " (id, requester_key, job_id, units, charged, state, created_at, server_id)"
            " VALUES (?, ?, ?, ?, ?, 'reserved', ?, ?)",
            (reservation.id, key, job_id, n, n, now, requester.venue.server_id),
        )
        return reservation

    async def commit(self, reservation_id: str, delivered: int, *, tx: Transaction | None = None) -> bool:
        """Charge ``delivered`` units (clamped to the reservation) and refund the rest.

        Returns False, changing nothing, if the reservation was already settled.
        """
        delivered = max(int(delivered), 0)
        sql = (
            "UPDATE quota_reservations SET state = 'committed', charged = MIN(units, ?), settled_at = ?"
            " WHERE id = ? AND state = 'reserved'"
        )
        params = (delivered, self._clock(), reservation_id)
        changed = await (tx.execute(sql, params) if tx is not None else self.db.execute(sql, params))
        return changed > 0

    async def refund(self, reservation_id: str, *, tx: Transaction | None = None) -> bool:
        """Give back every unit of a reservation. Returns False if it was already settled."""
        sql = (
            "UPDATE quota_reservations SET state = 'refunded', charged = 0, settled_at = ?"
            " WHERE id = ? AND state = 'reserved'"
        )
        params = (self._clock(), reservation_id)
        changed = await (tx.execute(sql, params) if tx is not None else self.db.execute(sql, params))
        return changed > 0

    async def get(self, reservation_id: str) -> Reservation | None:
        row = await self.db.fetchone("SELECT * FROM quota_reservations WHERE id = ?", (reservation_id,))
        return _reservation(row) if row is not None else None

    async def open_reservations(self) -> list[Reservation]:
        """Reservations neither committed nor refunded (recovery looks for orphans here)."""
        rows = await self.db.fetchall(
            "SELECT * FROM quota_reservations WHERE state = 'reserved' ORDER BY created_at"
        )
        return [_reservation(row) for row in rows]

    async def status(self, requester: Requester) -> QuotaStatus:
        now = self._clock()
        rows = await self.db.fetchall(
            "SELECT created_at, charged FROM quota_reservations"
            " WHERE requester_key = ? AND created_at > ? AND charged > 0 ORDER BY created_at",
            (requester.key, now - WINDOW_S),
        )
        used = sum(int(row["charged"]) for row in rows)
        resets_at = _dt(float(rows[0]["created_at"]) + WINDOW_S) if rows else None
        limit, lines = self.daily_limit, cast(tuple[BudgetLine, ...], ())
        if self.budgets is not None and limit > 0:
            limits = await self.budgets.limits_for(requester.venue.server_id)
            limit = limits.person_limit(requester.venue.role_ids)
            limit += await self.budgets.granted(self.db, requester.key, now)
            lines = tuple(await self.budgets.lines(requester))
        return QuotaStatus(
            limit=limit,
            used=used,
            remaining=max(limit - used, 0),
            resets_at=resets_at,
            budgets=lines,
        )

    async def reset(self, requester: Requester) -> int:
        """Give back every settled charge in the window (the operator's ``easel quota --reset``).

        Reservations of jobs still running are left alone (their commit or refund settles
        them); the rows stay, with ``charged = 0``, as a record. Returns the images given back.
        """
        async with self.db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT COALESCE(SUM(charged), 0) AS n FROM quota_reservations"
                " WHERE requester_key = ? AND state != 'reserved' AND charged > 0",
                (requester.key,),
            )
            await tx.execute(
                "UPDATE quota_reservations SET charged = 0"
                " WHERE requester_key = ? AND state != 'reserved' AND charged > 0",
                (requester.key,),
            )
        return int(row["n"]) if row is not None else 0

    async def _charges(self, tx: Transaction, key: str, now: float) -> list[tuple[float, int]]:
        rows = await tx.fetchall(
            "SELECT created_at, charged FROM quota_reservations"
            " WHERE requester_key = ? AND created_at > ? AND charged > 0 ORDER BY created_at",
            (key, now - WINDOW_S),
        )
        return [(float(row["created_at"]), int(row["charged"])) for row in rows]

    def _fits_at(self, charges: list[tuple[float, int]], used: int, n: int, now: float, limit: int) -> float:
        """When enough charges age out of the window for ``n`` more units to fit.

        A request larger than the whole limit never fits; then this is when the window
        is empty again (the most the user can ever get back).
        """
        must_free = used + n - limit
        freed = 0
        for created_at, units in charges:
            freed += units
            if freed >= must_free:
                return created_at + WINDOW_S
        return charges[-1][0] + WINDOW_S if charges else now + WINDOW_S


def _reservation(row: Row) -> Reservation:
    return Reservation(
        id=row["id"],
        requester_key=row["requester_key"],
        job_id=row["job_id"],
        units=int(row["units"]),
        charged=int(row["charged"]),
        state=ReservationState(row["state"]),
        created_at=_dt(float(row["created_at"])),
    )
