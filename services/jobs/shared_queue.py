"""The queue in the database, shared by every easel process on one PostgreSQL (issue 15).

Usage::

    queue = SharedQueue(db, worker_id="host-a:/data", clock=time.time)
    async with db.transaction() as tx:              # the submit's transaction
        placed = await queue.place(tx, requester.key)  # its fair round, a lease until it is announced
        await records.insert(tx, row, reservation_id, placed)
    await queue.open_for_claims(job_id)             # after the "queued" message: workers may take it
    row = await queue.claim(["discord", "slack"])   # the next job in the fair order, or None
    cancel = await queue.renew()                    # every few seconds: keep my leases; ids to cancel

Why the table is the queue: with several processes there is no one memory to hold the fair
queue, and a queue of its own (a broker) would be one more service to run and one more place
for a job to be lost between. Each row carries

* ``fair_round``: round-robin across people, the rule of :mod:`services.jobs.fair_queue` —
  a person's next job goes into the round after their previous one, never into a round that
  already started. Assigned in the submit's write transaction (which excludes every other one,
  :mod:`services.db.postgres`), so two gateways never give out the same turn twice; the claim
  order is ``(fair_round, rowid)``, an index range (migration 7).
* a lease: ``claimed_by`` and ``lease_until``. A worker claims the first row whose lease has
  run out with ``FOR UPDATE SKIP LOCKED`` (two workers never take the same row, and never wait
  for each other) and renews its leases while it runs them. A worker that dies stops renewing:
  after ``lease_s`` another worker takes the job over and resumes it exactly as a restart does
  (a resume token polls the same generation; a job that was delivering re-posts its stored
  originals). A new job starts with a short lease held by nobody, so no worker starts it before
  the person has been told its place; :meth:`open_for_claims` ends it.

The claim, the renewal and the wakeups are single statements outside the write lock: the
queue adds no serialisation between processes beyond the submit's own transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.db import Database, Row, Transaction
from services.jobs.queued import POSITION_CAP

__all__ = [
    "ANNOUNCE_S",
    "CANCEL_CHANNEL",
    "JOBS_CHANNEL",
    "LEASE_S",
    "Placement",
    "SharedQueue",
]

log = logging.getLogger(__name__)

JOBS_CHANNEL = "easel_jobs"  # NOTIFY: a job can be claimed
CANCEL_CHANNEL = "easel_cancel"  # NOTIFY with a job id: whoever runs it, stop it
LEASE_S = 30.0  # a worker that stops renewing loses its jobs after this long
ANNOUNCE_S = 10.0  # a new job waits at most this long for its "queued" message before it may start

_UNFINISHED_SQL = "status IN ('queued', 'running', 'delivering')"  # literal: the partial indexes


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a new row stands in the shared queue: its fair round, and the lease it starts with."""

    fair_round: int
    lease_until: float


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row a worker now holds the lease of."""

    row: Row
    taken_over: bool  # it was running or delivering under another lease: resume it


@dataclass(eq=False)
class SharedQueue:
    """See the module docstring."""

    db: Database
    worker_id: str
    clock: Callable[[], float]
    lease_s: float = LEASE_S

    # Submitting -----------------------------------------------------------------------------

    async def place(self, tx: Transaction, requester_key: str) -> Placement:
        """A new job's fair round and its announcing lease (inside the submit's write transaction).

        The lease is nobody's: no worker starts the job before the person has been told its place.
        """
        state = await tx.fetchone("SELECT round FROM queue_state WHERE id = 1")
        current = int(state["round"]) if state is not None else 0
        turn = await tx.fetchone(
            "SELECT last_round FROM queue_turns WHERE requester_key = ?", (requester_key,)
        )
        round_ = max(current, (int(turn["last_round"]) if turn is not None else 0) + 1)
        await tx.execute(
            "INSERT INTO queue_turns (requester_key, last_round) VALUES (?, ?)"
            " ON CONFLICT (requester_key) DO UPDATE SET last_round = excluded.last_round",
            (requester_key, round_),
        )
        return Placement(round_, self.clock() + ANNOUNCE_S)

    async def open_for_claims(self, job_id: str) -> None:
        """The person knows the job's place: any worker may start it now (and is woken)."""
        await self.db.execute(
            f"UPDATE jobs SET lease_until = 0 WHERE id = ? AND claimed_by IS NULL AND {_UNFINISHED_SQL}",
            (job_id,),
        )
        await self.db.notify(JOBS_CHANNEL)

    async def pin(self, job_id: str) -> None:
        """This process holds ``job_id`` from the start (its sink exists only here)."""
        await self.db.execute(
            "UPDATE jobs SET claimed_by = ?, lease_until = ? WHERE id = ?",
            (self.worker_id, self.clock() + self.lease_s, job_id),
        )

    async def position(self, job_id: str) -> int:
        """Queued jobs that start before ``job_id``, plus one; past :data:`POSITION_CAP` ahead, cap + 1."""
        row = await self.db.fetchone(
            "SELECT COUNT(*) AS n FROM (SELECT 1 FROM jobs AS other, jobs AS mine WHERE mine.id = ?"
            f" AND other.{_UNFINISHED_SQL} AND other.status = 'queued'"
            # the plain bound lets the fair-order index stop the scan; the row comparison alone did
            # not, and every submit read the whole queue (9x slower at 50,000 queued)
            " AND other.fair_round <= mine.fair_round"
            " AND (other.fair_round, other.rowid) < (mine.fair_round, mine.rowid) LIMIT ?) AS ahead",
            (job_id, POSITION_CAP + 1),
        )
        return (int(row["n"]) if row is not None else 0) + 1

    # Working --------------------------------------------------------------------------------

    async def claim(self, platforms: Sequence[str]) -> Claimed | None:
        """Take the lease of the next job in the fair order this process can deliver, or None."""
        now = self.clock()
        row = await self.db.fetchone(
            "UPDATE jobs SET claimed_by = ?, lease_until = ? WHERE rowid = ("
            f"SELECT rowid FROM jobs WHERE {_UNFINISHED_SQL} AND lease_until < ? AND platform = ANY(?)"
            " AND NOT EXISTS (SELECT 1 FROM queue_state WHERE paused = 1)"
            " ORDER BY fair_round, rowid LIMIT 1 FOR UPDATE SKIP LOCKED)"
            " RETURNING rowid AS row_id, *",
            (self.worker_id, now + self.lease_s, now, list(platforms)),
        )
        if row is None:
            return None
        await self.db.execute(  # the round in progress: newcomers join it (never an earlier one)
            "UPDATE queue_state SET round = ? WHERE id = 1 AND round < ?",
            (row["fair_round"], row["fair_round"]),
        )
        return Claimed(row, taken_over=row["status"] != "queued")

    async def renew(self) -> set[str]:
        """Extend the leases of every job this process holds; returns the ones asked to stop."""
        rows = await self.db.fetchall(
            f"UPDATE jobs SET lease_until = ? WHERE claimed_by = ? AND {_UNFINISHED_SQL}"
            " RETURNING id, cancel_requested",
            (self.clock() + self.lease_s, self.worker_id),
        )
        return {str(row["id"]) for row in rows if row["cancel_requested"]}

    async def release_mine(self) -> int:
        """Give back every lease this process (or its previous life: same id) holds: claimable now."""
        return await self.db.execute(
            f"UPDATE jobs SET claimed_by = NULL, lease_until = 0 WHERE claimed_by = ? AND {_UNFINISHED_SQL}",
            (self.worker_id,),
        )

    async def withdraw(self, job_id: str) -> Row | None:
        """Take a queued job nobody runs (to cancel it); None if a worker holds it or it ended."""
        return await self.db.fetchone(
            "UPDATE jobs SET claimed_by = ?, lease_until = ? WHERE id = ? AND status = 'queued'"
            " AND (claimed_by IS NULL OR lease_until < ?) RETURNING rowid AS row_id, *",
            (self.worker_id, self.clock() + self.lease_s, job_id, self.clock()),
        )

    async def ask_to_cancel(self, job_id: str) -> None:
        """A worker elsewhere runs ``job_id``: ask it to stop (now by NOTIFY, at worst at its renewal)."""
        await self.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        await self.db.notify(CANCEL_CHANNEL, job_id)

    # Admin and status -------------------------------------------------------------------------

    async def set_paused(self, paused: bool) -> bool:
        """Pause or resume every process's workers; False if it already was so."""
        changed = await self.db.execute(
            "UPDATE queue_state SET paused = ? WHERE id = 1 AND paused <> ?", (int(paused), int(paused))
        )
        if not paused:
            await self.db.notify(JOBS_CHANNEL)
        return changed > 0

    async def paused(self) -> bool:
        row = await self.db.fetchone("SELECT paused FROM queue_state WHERE id = 1")
        return bool(row["paused"]) if row is not None else False

    async def depth(self) -> int:
        row = await self.db.fetchone(
            f"SELECT COUNT(*) AS n FROM jobs WHERE {_UNFINISHED_SQL} AND status = 'queued'"
        )
        return int(row["n"]) if row is not None else 0

    async def waiting(self, limit: int = 100) -> list[Row]:
        """The first ``limit`` queued jobs in the order they will start."""
        return await self.db.fetchall(
            "SELECT id, requester_key, requester_json, n_requested FROM jobs"
            f" WHERE {_UNFINISHED_SQL} AND status = 'queued' ORDER BY fair_round, rowid LIMIT ?",
            (limit,),
        )
