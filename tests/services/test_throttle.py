"""StatusThrottle: at most one send per interval, the latest text wins, the final always goes."""

from __future__ import annotations

import asyncio

from services.tasks import BackgroundTasks
from services.throttle import StatusThrottle


class Recorder:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.sent: list[str] = []
        self.delay_s = delay_s

    async def __call__(self, text: str) -> None:
        await asyncio.sleep(self.delay_s)
        self.sent.append(text)


async def test_too_soon_waits_and_only_the_latest_is_sent() -> None:
    sent = Recorder()
    line = StatusThrottle(sent, min_interval_s=0.2)
    await line.update("queued")
    for n in range(10):
        await line.update(f"{n * 10} %")
    assert sent.sent == ["queued"]
    await asyncio.sleep(0.3)
    assert sent.sent == ["queued", "90 %"]


async def test_the_final_text_drops_what_waits_and_is_always_sent() -> None:
    sent = Recorder()
    line = StatusThrottle(sent, min_interval_s=10)
    await line.update("queued")
    await line.update("50 %")  # waits ten seconds …
    await line.final("done")  # … and is dropped
    await line.update("late")  # after the final: ignored
    await asyncio.sleep(0.05)
    assert sent.sent == ["queued", "done"] and line.finished


async def test_stop_waits_for_a_send_under_way() -> None:
    sent = Recorder(delay_s=0.1)
    line = StatusThrottle(sent, min_interval_s=0)
    started = asyncio.create_task(line.update("working"))
    await asyncio.sleep(0.01)
    await line.stop()
    assert sent.sent == ["working"]  # no status edit can land after the result
    await started


async def test_a_gate_holds_updates_until_it_opens() -> None:
    sent = Recorder()
    gate = asyncio.Event()
    tasks = BackgroundTasks("test")
    line = StatusThrottle(sent, min_interval_s=0, gate=gate, spawn=tasks.spawn)
    await line.update("resumed")
    await line.update("still queued")
    await asyncio.sleep(0.05)
    assert sent.sent == [] and len(tasks) == 1
    gate.set()
    await asyncio.sleep(0.05)
    assert sent.sent == ["still queued"]


async def test_cancel_drops_a_waiting_update() -> None:
    sent = Recorder()
    line = StatusThrottle(sent, min_interval_s=0.1)
    await line.update("a")
    await line.update("b")
    line.cancel()
    await asyncio.sleep(0.2)
    assert sent.sent == ["a"]
