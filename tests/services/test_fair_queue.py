"""FairQueue: users take turns; positions follow the same order as get()."""

from __future__ import annotations

import asyncio

import pytest

from services.jobs.fair_queue import FairQueue


def _drain(queue: FairQueue) -> list[str]:
    out = []
    while len(queue):
        out.append(queue.get_nowait())
    return out


def test_a_single_user_is_fifo() -> None:
    queue = FairQueue()
    for i in range(5):
        assert queue.put("A", f"a{i}") == i + 1
    assert _drain(queue) == [f"a{i}" for i in range(5)]


def test_light_user_goes_second_when_nothing_has_started() -> None:
    queue = FairQueue()
    for i in range(1, 11):
        queue.put("A", f"a{i}")
    assert queue.put("B", "b1") == 2
    assert _drain(queue) == ["a1", "b1", *(f"a{i}" for i in range(2, 11))]


def test_light_user_goes_next_after_the_running_job() -> None:
    queue = FairQueue()
    queue.put("A", "a1")
    assert queue.get_nowait() == "a1"  # running
    for i in range(2, 11):
        queue.put("A", f"a{i}")
    assert queue.put("B", "b1") == 1
    assert queue.snapshot()[:2] == ["b1", "a2"]


def test_users_alternate_and_positions_match_the_start_order() -> None:
    queue = FairQueue()
    for i in range(3):
        queue.put("A", f"a{i}")
    for i in range(3):
        queue.put("B", f"b{i}")
    queue.put("C", "c0")
    expected = ["a0", "b0", "c0", "a1", "b1", "a2", "b2"]
    assert queue.snapshot() == expected
    assert [queue.position(job) for job in expected] == list(range(1, 8))
    assert _drain(queue) == expected


def test_a_late_user_joins_the_current_round_without_credit_for_absence() -> None:
    queue = FairQueue()
    for i in range(6):
        queue.put("A", f"a{i}")
    for _ in range(4):
        queue.get_nowait()  # a0..a3 started: we are in round 4
    queue.put("B", "b0")
    queue.put("B", "b1")
    queue.put("B", "b2")
    # B gets one job per round from now on, not three in a row to "catch up".
    assert queue.snapshot() == ["b0", "a4", "b1", "a5", "b2"]


def test_remove_and_membership() -> None:
    queue = FairQueue()
    queue.put("A", "a0")
    queue.put("A", "a1")
    queue.put("B", "b0")
    assert "a1" in queue
    assert queue.remove("a1") is True
    assert queue.remove("a1") is False
    assert queue.remove("unknown") is False
    assert "a1" not in queue
    assert queue.pending("A") == 1
    with pytest.raises(KeyError):
        queue.position("a1")
    assert _drain(queue) == ["a0", "b0"]


def test_removing_a_users_last_job_does_not_penalise_them() -> None:
    queue = FairQueue()
    queue.put("A", "a0")
    queue.put("A", "a1")
    queue.remove("a1")
    queue.remove("a0")
    queue.put("B", "b0")
    queue.put("B", "b1")
    queue.put("A", "a2")
    assert queue.snapshot() == ["b0", "a2", "b1"]


def test_duplicate_and_empty() -> None:
    queue = FairQueue()
    queue.put("A", "a0")
    with pytest.raises(ValueError):
        queue.put("B", "a0")
    queue.get_nowait()
    with pytest.raises(IndexError):
        queue.get_nowait()


def test_users_idle_since_an_earlier_round_are_forgotten() -> None:
    queue = FairQueue()
    for i in range(500):
        queue.put(f"user{i}", f"job{i}")
        queue.get_nowait()  # all in round 1
    for i in range(3):
        queue.put("heavy", f"h{i}")
    _drain(queue)  # rounds 1..3: everyone else is now idle since an earlier round
    queue.put("late", "x")
    assert queue.get_nowait() == "x"
    assert len(queue._last_round) < 100  # bounded bookkeeping
    # A forgotten user is treated like a new one: they join the current round, while
    # "heavy" (who already had a job in it) waits for the next.
    queue.put("heavy", "h3")
    queue.put("user7", "again")
    assert queue.snapshot() == ["again", "h3"]


async def test_get_waits_for_put_and_each_getter_gets_one_job() -> None:
    queue = FairQueue()
    getters = [asyncio.create_task(queue.get()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(g.done() for g in getters)
    queue.put("A", "a0")
    queue.put("B", "b0")
    await asyncio.sleep(0.01)
    assert sorted(g.result() for g in getters if g.done()) == ["a0", "b0"]
    queue.put("A", "a1")
    got = await asyncio.wait_for(asyncio.gather(*getters), timeout=3)
    assert sorted(got) == ["a0", "a1", "b0"]
    assert len(queue) == 0


async def test_cancelled_getter_loses_no_job() -> None:
    queue = FairQueue()
    waiting = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    queue.put("A", "a0")
    assert await asyncio.wait_for(queue.get(), timeout=3) == "a0"
