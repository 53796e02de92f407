"""Community budgets kept in SQLite and checked inside the quota reservation's transaction.

:class:`services.quota.QuotaBook` calls :meth:`BudgetBook.check` in the same ``BEGIN
IMMEDIATE`` transaction that writes the reservation row, so concurrent requests are
serialised and a server budget of 10 units grants exactly 10, however many arrive at once.
Admin changes (overrides, grants, bans) are written together with their audit entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.audit import AuditLog
from services.budgets.limits import SETTABLE, LimitName, Limits
from services.db import Database, Transaction
from services.errors import BudgetExceeded, InvalidRequest
from services.types import Requester

__all__ = ["BudgetBook", "BudgetLine", "day_start", "month_start"]

DAY_S = 24 * 60 * 60


def day_start(now: float) -> datetime:
    d = datetime.fromtimestamp(now, UTC)
    return d.replace(hour=0, minute=0, second=0, microsecond=0)


def month_start(now: float) -> datetime:
    return day_start(now).replace(day=1)


def _next_month(start: datetime) -> datetime:
    return (start + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """One limit as ``/quota`` shows it; ``allowed == 0`` with ``unlimited`` means no such limit."""

    name: LimitName
    allowed: int
    used: int
    resets_at: datetime | None


class BudgetBook:
    """Per-server limits (env defaults + stored overrides), grants and bans."""

    def __init__(self, db: Database, defaults: Limits, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.defaults = defaults
        self.audit = AuditLog(db, clock)
        self._clock = clock

    # Reading ------------------------------------------------------------------------------

    async def limits_for(self, server_id: str, tx: Transaction | None = None) -> Limits:
        sql = "SELECT name, value FROM budget_overrides WHERE server_id = ? ORDER BY name"
        rows = await (tx.fetchall(sql, (server_id,)) if tx else self.db.fetchall(sql, (server_id,)))
        limits = self.defaults
        for row in rows:
            limits = limits.with_override(str(row["name"]), str(row["value"]))
        return limits

    async def granted(self, tx: Transaction | Database, key: str, now: float) -> int:
        row = await tx.fetchone(
            "SELECT COALESCE(SUM(units), 0) AS n FROM budget_grants WHERE requester_key = ? AND granted_at > ?",
            (key, now - DAY_S),
        )
        return int(row["n"]) if row is not None else 0

    async def is_banned(self, key: str, tx: Transaction | Database | None = None) -> bool:
        src = tx or self.db
        return await src.fetchone("SELECT 1 FROM bans WHERE requester_key = ?", (key,)) is not None

    # The check, inside the reservation's transaction ---------------------------------------

    async def check(self, tx: Transaction, requester: Requester, n: int, now: float) -> int:
        """Raise :class:`BudgetExceeded` for the first limit ``n`` more units break.

        Returns the person's daily limit (role override plus grants) for the quota check.
        """
        venue = requester.venue
        if await self.is_banned(requester.key, tx):
            raise BudgetExceeded(limit=LimitName.BAN, allowed=0, left=0, requested=n, resets_at=None)
        limits = await self.limits_for(venue.server_id, tx)
        if not limits.channel_allowed(venue.channel_id):
            raise BudgetExceeded(limit=LimitName.CHANNEL, allowed=0, left=0, requested=n, resets_at=None)
        if limits.cooldown_s > 0:
            row = await tx.fetchone(
                "SELECT MAX(created_at) AS t FROM quota_reservations WHERE requester_key = ?",
                (requester.key,),
            )
            last = float(row["t"]) if row is not None and row["t"] is not None else None
            if last is not None and now - last < limits.cooldown_s:
                resets = datetime.fromtimestamp(last + limits.cooldown_s, UTC)
                raise BudgetExceeded(
                    limit=LimitName.COOLDOWN, allowed=limits.cooldown_s, left=0, requested=n, resets_at=resets
                )
        if limits.concurrent > 0:
            row = await tx.fetchone(
                "SELECT COUNT(*) AS c FROM quota_reservations WHERE requester_key = ? AND state = 'reserved'",
                (requester.key,),
            )
            running = int(row["c"]) if row is not None else 0
            if running >= limits.concurrent:
                raise BudgetExceeded(
                    limit=LimitName.CONCURRENT, allowed=limits.concurrent, left=0, requested=n, resets_at=None
                )
        if venue.server_id:
            await self._server_window(tx, venue.server_id, LimitName.SERVER_DAY, limits.server_day, n, now)
            await self._server_window(
                tx, venue.server_id, LimitName.SERVER_MONTH, limits.server_month, n, now
            )
        return limits.person_limit(venue.role_ids) + await self.granted(tx, requester.key, now)

    async def _server_window(
        self, tx: Transaction, server_id: str, name: LimitName, allowed: int, n: int, now: float
    ) -> None:
        if allowed <= 0:
            return
        used, resets = await self._server_used(tx, server_id, name, now)
        if used + n > allowed:
            left = max(allowed - used, 0)
            raise BudgetExceeded(limit=name, allowed=allowed, left=left, requested=n, resets_at=resets)

    async def _server_used(
        self, src: Transaction | Database, server_id: str, name: LimitName, now: float
    ) -> tuple[int, datetime]:
        start = day_start(now) if name is LimitName.SERVER_DAY else month_start(now)
        resets = start + timedelta(days=1) if name is LimitName.SERVER_DAY else _next_month(start)
        row = await src.fetchone(
            "SELECT COALESCE(SUM(charged), 0) AS n FROM quota_reservations WHERE server_id = ? AND created_at >= ?",
            (server_id, start.timestamp()),
        )
        return (int(row["n"]) if row is not None else 0), resets

    async def lines(self, requester: Requester) -> list[BudgetLine]:
        """The server-wide limits, concurrency and cool-down that apply to ``requester`` (for ``/quota``)."""
        now = self._clock()
        venue = requester.venue
        limits = await self.limits_for(venue.server_id)
        out: list[BudgetLine] = []
        for name, allowed in (
            (LimitName.SERVER_DAY, limits.server_day),
            (LimitName.SERVER_MONTH, limits.server_month),
        ):
            if allowed > 0 and venue.server_id:
                used, resets = await self._server_used(self.db, venue.server_id, name, now)
                out.append(BudgetLine(name, allowed, used, resets))
        if limits.concurrent > 0:
            row = await self.db.fetchone(
                "SELECT COUNT(*) AS c FROM quota_reservations WHERE requester_key = ? AND state = 'reserved'",
                (requester.key,),
            )
            out.append(BudgetLine(LimitName.CONCURRENT, limits.concurrent, int(row["c"]) if row else 0, None))
        if limits.cooldown_s > 0:
            out.append(BudgetLine(LimitName.COOLDOWN, limits.cooldown_s, 0, None))
        return out

    # Admin changes (each with its audit entry, in one transaction) -------------------------

    async def set_limit(self, actor: Requester | str, server_id: str, name: str, value: str) -> None:
        """Store one server override; ``value`` "default" removes it."""
        if not (name in SETTABLE or name in ("allow_channels", "deny_channels") or name.startswith("role:")):
            raise InvalidRequest(f"There is no limit called {name!r}.")
        if value != "default" and name not in ("allow_channels", "deny_channels"):
            if not value.isdigit() or int(value) > 1_000_000:
                raise InvalidRequest(f"{name} takes a whole number from 0 to 1000000 (or 'default').")
        async with self.db.transaction() as tx:
            if value == "default":
                await tx.execute(
                    "DELETE FROM budget_overrides WHERE server_id = ? AND name = ?", (server_id, name)
                )
            else:
                await tx.execute(
                    "INSERT INTO budget_overrides (server_id, name, value, set_by, set_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (server_id, name) DO UPDATE SET value = excluded.value,"
                    " set_by = excluded.set_by, set_at = excluded.set_at",
                    (server_id, name, value, _key(actor), self._clock()),
                )
            await self.audit.record(actor, "set_limit", target=name, detail=value, server_id=server_id, tx=tx)

    async def grant(
        self, actor: Requester | str, requester_key: str, units: int, server_id: str = ""
    ) -> None:
        """Extra units for one person's rolling 24 h window."""
        if not 0 < units <= 100_000:
            raise InvalidRequest("A grant is a whole number of units from 1 to 100000.")
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO budget_grants (requester_key, units, granted_by, granted_at) VALUES (?, ?, ?, ?)",
                (requester_key, units, _key(actor), self._clock()),
            )
            await self.audit.record(
                actor, "grant", target=requester_key, detail=str(units), server_id=server_id, tx=tx
            )

    async def ban(
        self, actor: Requester | str, requester_key: str, reason: str = "", server_id: str = ""
    ) -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "INSERT OR IGNORE INTO bans (requester_key, banned_by, reason, banned_at) VALUES (?, ?, ?, ?)",
                (requester_key, _key(actor), reason, self._clock()),
            )
            await self.audit.record(
                actor, "ban", target=requester_key, detail=reason, server_id=server_id, tx=tx
            )
        return changed > 0

    async def unban(self, actor: Requester | str, requester_key: str, server_id: str = "") -> bool:
        async with self.db.transaction() as tx:
            changed = await tx.execute("DELETE FROM bans WHERE requester_key = ?", (requester_key,))
            await self.audit.record(actor, "unban", target=requester_key, server_id=server_id, tx=tx)
        return changed > 0


def _key(actor: Requester | str) -> str:
    return actor if isinstance(actor, str) else actor.key
