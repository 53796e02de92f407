"""FairQueue against the reference algorithm it replaced (the whole-queue walk), on random sequences.

The reference below is the queue as it was before positions became ranks in a sorted list:
each user's FIFO deque, one round per job, ``get`` takes the smallest (round, seq) among the
users' heads, ``position`` counts the queued entries that sort before. Every operation of a
random mix (put, get, remove of queued/started/unknown ids, position, snapshot, pending) must
give the same answer from both.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

import pytest

from services.jobs.fair_queue import FairQueue


@dataclass(frozen=True, slots=True, order=True)
class _RefEntry:
    round: int
    seq: int
    job_id: str
    user_key: str


class ReferenceQueue:
    """The O(n) algorithm, kept as the specification of the order."""

    def __init__(self) -> None:
        self.users: dict[str, deque[_RefEntry]] = {}
        self.entries: dict[str, _RefEntry] = {}
        self.last_round: dict[str, int] = {}
        self.started_round: dict[str, int] = {}
        self.round = 0
        self.seq = 0

    def put(self, user_key: str, job_id: str) -> int:
        round_ = max(self.round, self.last_round.get(user_key, 0) + 1)
        self.seq += 1
        entry = _RefEntry(round_, self.seq, job_id, user_key)
        self.users.setdefault(user_key, deque()).append(entry)
        self.entries[job_id] = entry
        self.last_round[user_key] = round_
        return self.position(job_id)

    def get_nowait(self) -> str:
        head = min(q[0] for q in self.users.values())
        queue = self.users[head.user_key]
        queue.popleft()
        if not queue:
            del self.users[head.user_key]
        del self.entries[head.job_id]
        self.round = max(self.round, head.round)
        self.started_round[head.user_key] = head.round
        return head.job_id

    def position(self, job_id: str) -> int:
        entry = self.entries[job_id]
        return 1 + sum(1 for other in self.entries.values() if other < entry)

    def remove(self, job_id: str) -> bool:
        entry = self.entries.pop(job_id, None)
        if entry is None:
            return False
        queue = self.users[entry.user_key]
        queue.remove(entry)
        if queue:
            self.last_round[entry.user_key] = queue[-1].round
        else:
            del self.users[entry.user_key]
            self.last_round[entry.user_key] = self.started_round.get(entry.user_key, 0)
        return True

    def pending(self, user_key: str) -> int:
        return len(self.users.get(user_key, ()))

    def snapshot(self) -> list[str]:
        return [e.job_id for e in sorted(self.entries.values())]


def _run(seed: int, steps: int, users: int) -> None:
    rng = random.Random(seed)
    queue, ref = FairQueue(), ReferenceQueue()
    ids: list[str] = []
    for step in range(steps):
        op = rng.random()
        if op < 0.5:
            job_id, user = f"j{step}", f"u{rng.randrange(users)}"
            ids.append(job_id)
            assert queue.put(user, job_id) == ref.put(user, job_id), (seed, step)
        elif op < 0.75:
            if ref.entries:
                assert queue.get_nowait() == ref.get_nowait(), (seed, step)
            else:
                with pytest.raises(IndexError):
                    queue.get_nowait()
        elif op < 0.9:
            job_id = rng.choice(ids) if ids and rng.random() < 0.9 else "unknown"
            assert queue.remove(job_id) == ref.remove(job_id), (seed, step)
        else:
            user = f"u{rng.randrange(users)}"
            assert queue.pending(user) == ref.pending(user)
        assert len(queue) == len(ref.entries)
        if step % 7 == 0:
            order = ref.snapshot()
            assert queue.snapshot() == order, (seed, step)
            assert [queue.position(j) for j in order] == list(range(1, len(order) + 1))


@pytest.mark.parametrize("seed", range(40))
def test_same_answers_as_the_reference_on_random_sequences(seed: int) -> None:
    _run(seed, steps=400, users=1 + seed % 7)


def test_same_answers_with_many_users_and_a_long_queue() -> None:
    # Long enough that idle users' bookkeeping is forgotten along the way (past 64 idle users).
    _run(1234, steps=6000, users=150)


def test_positions_of_every_job_in_a_queue_of_thousands() -> None:
    rng = random.Random(7)
    queue, ref = FairQueue(), ReferenceQueue()
    for i in range(3000):
        user = f"u{rng.randrange(40)}"
        assert queue.put(user, f"j{i}") == ref.put(user, f"j{i}")
    for _ in range(500):
        assert queue.get_nowait() == ref.get_nowait()
    for job_id in rng.sample(sorted(ref.entries), 200):
        assert queue.position(job_id) == ref.position(job_id)
