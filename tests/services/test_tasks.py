"""BackgroundTasks: work after an ack is tracked, its crashes logged, and drained with a bound."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from services.tasks import BackgroundTasks


async def test_a_crash_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("slack")

    async def boom() -> None:
        raise RuntimeError("kaputt")

    task = tasks.spawn(boom(), name="quota")
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    [record] = [r for r in caplog.records if r.getMessage() == "slack.task_failed"]
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.__dict__["task"] == "slack:quota" and len(tasks) == 0


async def test_drain_lets_quick_work_finish_and_cancels_the_rest() -> None:
    tasks = BackgroundTasks("test")
    finished: list[str] = []

    async def work(name: str, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        finished.append(name)

    tasks.spawn(work("reply", 0.05), name="reply")
    slow = tasks.spawn(work("slow", 30), name="slow")
    started = time.monotonic()
    await tasks.drain(0.3)
    assert time.monotonic() - started < 1
    assert finished == ["reply"] and slow.cancelled() and len(tasks) == 0


async def test_track_counts_a_task_the_library_started() -> None:
    tasks = BackgroundTasks("discord")
    inside = asyncio.Event()
    release = asyncio.Event()

    async def handler() -> None:
        with tasks.track():
            inside.set()
            await release.wait()

    task = asyncio.create_task(handler())
    await inside.wait()
    assert len(tasks) == 1
    drained = asyncio.create_task(tasks.drain(5))
    await asyncio.sleep(0.05)
    assert not drained.done()  # waits for the handler …
    release.set()
    await drained  # … which finishes within the bound
    assert task.done() and not task.cancelled() and len(tasks) == 0
