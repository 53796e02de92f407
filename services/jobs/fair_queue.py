"""A job queue that takes turns between users, so nobody's batch starves anyone else.

Usage::

    queue = FairQueue()
    queue.put("discord:1", "job-a1")
    queue.put("discord:2", "job-b1")
    job_id = await queue.get()          # waits while empty
    queue.position("job-b1")            # 1 = starts next
    queue.remove("job-b1")              # cancelled before it started

Round-robin by rounds: each user keeps a FIFO deque of their jobs, and each job is
tagged with the round it belongs to — one job per user per round. A user's next job
goes into the round after their previous one, but never into a round that already
started, so a newcomer joins the round in progress and does not get credit for the
time they were away. ``get`` starts the job of the earliest round (earliest arrival
breaks ties). With A queuing ten jobs and then B one, B's job is in the round of A's
first job and starts right after it; from then on A and B alternate.

Synchronous data structure plus one asyncio wakeup for ``get``; not thread-safe
(one event loop owns it). ``position`` is exact for the jobs already queued; a job
submitted later by a user with fewer jobs may still go ahead (that is the fairness).

Costs: every queued job has one integer key, ``round << 40 | seq``, in a sorted list
(``sortedcontainers``), so ``put``, ``get`` and ``position`` are O(log n) however long
the queue: position is the key's rank, the next job is the smallest key. ``remove``
is O(log n) plus the length of that user's own deque.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from sortedcontainers import SortedList

__all__ = ["FairQueue"]

_SEQ_BITS = 40  # 10**12 puts per process before keys of one round could collide


@dataclass(frozen=True, slots=True)
class _Entry:
    key: int  # round << _SEQ_BITS | seq: the start order
    round: int
    job_id: str
    user_key: str


class FairQueue:
    def __init__(self) -> None:
        self._users: dict[str, deque[_Entry]] = {}  # only users with queued jobs
        self._entries: dict[str, _Entry] = {}  # job_id → entry
        self._order = SortedList()  # keys of queued entries
        self._by_key: dict[int, _Entry] = {}
        self._last_round: dict[str, int] = {}  # user → round of their latest queued-or-started job
        self._started_round: dict[str, int] = {}  # user → round of their latest started job
        self._round = 0  # round of the most recently started job
        self._seq = 0
        self._wakeup = asyncio.Event()
        self.open = (
            asyncio.Event()
        )  # the admins' pause switch (issue 10): get() hands out jobs only while set
        self.open.set()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, job_id: object) -> bool:
        return job_id in self._entries

    def put(self, user_key: str, job_id: str) -> int:
        """Queue ``job_id`` for ``user_key``; returns its position (1 = starts next)."""
        if job_id in self._entries:
            raise ValueError(f"job {job_id} is already queued")
        round_ = max(self._round, self._last_round.get(user_key, 0) + 1)
        self._seq += 1
        entry = _Entry(round_ << _SEQ_BITS | self._seq, round_, job_id, user_key)
        self._users.setdefault(user_key, deque()).append(entry)
        self._entries[job_id] = entry
        self._by_key[entry.key] = entry
        self._order.add(entry.key)
        self._last_round[user_key] = round_
        self._wakeup.set()
        return self._order.index(entry.key) + 1

    def get_nowait(self) -> str:
        """Take the job that starts next; ``IndexError`` if the queue is empty."""
        if not self._entries:
            raise IndexError("queue is empty")
        head = self._by_key.pop(self._order.pop(0))
        queue = self._users[head.user_key]
        queue.popleft()  # a user's rounds increase along their deque: head is its first
        if not queue:
            del self._users[head.user_key]
        del self._entries[head.job_id]
        self._round = max(self._round, head.round)
        self._started_round[head.user_key] = head.round
        self._forget_idle_users()
        return head.job_id

    async def get(self) -> str:
        """Wait for a job and take it (see module docstring for the order)."""
        while True:
            await self.open.wait()  # paused: jobs stay queued, in order, until resumed
            if self._entries:
                return self.get_nowait()
            self._wakeup.clear()
            await self._wakeup.wait()

    def position(self, job_id: str) -> int:
        """How many queued jobs start before ``job_id``, plus one; ``KeyError`` if not queued."""
        return self._order.index(self._entries[job_id].key) + 1

    def remove(self, job_id: str) -> bool:
        """Drop a queued job; False if it is not queued (already started or unknown)."""
        entry = self._entries.pop(job_id, None)
        if entry is None:
            return False
        self._order.remove(entry.key)
        del self._by_key[entry.key]
        queue = self._users[entry.user_key]
        queue.remove(entry)
        if queue:
            self._last_round[entry.user_key] = queue[-1].round
        else:
            del self._users[entry.user_key]
            self._last_round[entry.user_key] = self._started_round.get(entry.user_key, 0)
        return True

    def pending(self, user_key: str) -> int:
        """How many jobs ``user_key`` has waiting."""
        return len(self._users.get(user_key, ()))

    def snapshot(self) -> list[str]:
        """Queued job ids in the order they would start (for status pages and tests)."""
        return [self._by_key[key].job_id for key in self._order]

    def _forget_idle_users(self) -> None:
        # A user with nothing queued whose last round is behind the current one would get
        # the current round anyway: their bookkeeping can go (keeps memory bounded).
        if len(self._last_round) <= 2 * len(self._users) + 64:
            return
        for user in [u for u, r in self._last_round.items() if r < self._round and u not in self._users]:
            del self._last_round[user]
            self._started_round.pop(user, None)
