"""The audit log: who refused or changed what, for the operators and moderators who answer for the bot.

Every policy refusal and every admin action is one row (``audit_log``, migration 4). Writers pass
their transaction when the action itself is a database change, so the change and its record
commit together or not at all. Prompts are never stored whole: ``detail`` holds a short,
cut excerpt at most (see :func:`excerpt`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from services.db import Database, Row, Transaction
from services.types import Requester

__all__ = ["AuditEntry", "AuditLog", "excerpt"]

_EXCERPT = 80


def excerpt(text: str, limit: int = _EXCERPT) -> str:
    """A short, one-line cut of user text, fit for a log row or a moderator's channel."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor_key: str
    server_id: str
    action: str
    target: str
    detail: str


class AuditLog:
    """Append-only record of refusals and admin actions (``easel admin audit`` reads it)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def record(
        self,
        actor: Requester | str,
        action: str,
        *,
        target: str = "",
        detail: str = "",
        server_id: str | None = None,
        tx: Transaction | None = None,
    ) -> None:
        """Append one entry; ``server_id`` defaults to the actor's venue."""
        actor_key = actor if isinstance(actor, str) else actor.key
        if server_id is None:
            server_id = "" if isinstance(actor, str) else actor.venue.server_id
        sql = "INSERT INTO audit_log (at, actor_key, server_id, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)"
        params = (self._clock(), actor_key, server_id, action, target, detail)
        if tx is not None:
            await tx.execute(sql, params)
        else:
            await self.db.execute(sql, params)

    async def last_id(self) -> int:
        """The id of the newest entry (0 when there is none): where a reader of new entries starts."""
        row = await self.db.fetchone("SELECT COALESCE(MAX(id), 0) AS n FROM audit_log")
        return int(row["n"]) if row is not None else 0

    async def since(self, after_id: int, *, limit: int = 100) -> list[AuditEntry]:
        """Entries newer than ``after_id``, oldest first (the moderation log tails the table with it)."""
        rows = await self.db.fetchall(
            "SELECT * FROM audit_log WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        )
        return [_entry(row) for row in rows]

    async def recent(self, *, limit: int = 50, server_id: str | None = None) -> list[AuditEntry]:
        """Newest first; only one server's entries when ``server_id`` is given."""
        if server_id is None:
            rows = await self.db.fetchall("SELECT * FROM audit_log ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = await self.db.fetchall(
                "SELECT * FROM audit_log WHERE server_id = ? ORDER BY id DESC LIMIT ?", (server_id, limit)
            )
        return [_entry(row) for row in rows]


def _entry(row: Row) -> AuditEntry:
    return AuditEntry(
        id=int(row["id"]),
        at=datetime.fromtimestamp(float(row["at"]), UTC),
        actor_key=row["actor_key"],
        server_id=row["server_id"],
        action=row["action"],
        target=row["target"],
        detail=row["detail"],
    )
