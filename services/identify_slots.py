"""IDENTIFY turns shared by every gateway process of one bot, through the database (issue 15).

Discord accepts ``max_concurrency`` IDENTIFYs per 5 s, one per bucket ``shard_id % max_concurrency``,
counted per bot token across *all* its connections. Two gateway processes pacing only their own
shards can identify in the same bucket at the same moment; Discord answers the second with op 9
(invalid session) and it has to start over. With PostgreSQL the processes share a small table
instead: each IDENTIFY first reserves the bucket's next free time, in one write transaction
(exclusive across processes), and then waits for it::

    slots = IdentifySlots(db)
    delay = await slots.reserve(bot_id, bucket, window_s=5.25)   # 0.0, or how long to wait
    await asyncio.sleep(delay)

No lock is held while waiting: the row already says when the bucket is next free, so a third
process reserves the turn after the second one. Times are the database server's clock, so
processes on machines whose clocks disagree still take turns.
"""

from __future__ import annotations

from services.db import Database

__all__ = ["IdentifySlots"]

_NOW = {
    "sqlite": "(julianday('now') - 2440587.5) * 86400.0",
    # clock_timestamp(), not CURRENT_TIMESTAMP (the transaction's start, before the write lock)
    "postgresql": "EXTRACT(EPOCH FROM clock_timestamp())::float8",
}


class IdentifySlots:
    """Reservations of IDENTIFY turns per (bot, bucket) in ``gateway_identify`` (migration 8)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._now = _NOW[db.dialect]

    async def reserve(self, bot_id: int, bucket: int, *, window_s: float) -> float:
        """Take the bucket's next turn; return the seconds to wait before sending the IDENTIFY.

        The turn is at least ``window_s`` after the bucket's previous one, whichever process took it.
        Raises what the database raises (the caller falls back to pacing on its own).
        """
        async with self._db.transaction() as tx:
            now_row = await tx.fetchone(f"SELECT {self._now} AS now")
            assert now_row is not None
            now = float(now_row["now"])
            row = await tx.fetchone(
                "SELECT identified_at FROM gateway_identify WHERE bot_id = ? AND bucket = ?",
                (bot_id, bucket),
            )
            turn = now if row is None else max(now, float(row["identified_at"]) + window_s)
            await tx.execute(
                "INSERT INTO gateway_identify (bot_id, bucket, identified_at) VALUES (?, ?, ?)"
                " ON CONFLICT (bot_id, bucket) DO UPDATE SET identified_at = excluded.identified_at",
                (bot_id, bucket, turn),
            )
        return turn - now
