"""Background work a front end starts after an ack: tracked, crashes logged, drained on shutdown.

::

    tasks = BackgroundTasks("slack")
    tasks.spawn(reply_later(), name="quota")   # a crash is logged as "slack.task_failed"
    with tasks.track():                        # or: count the running handler itself
        await handle(interaction)
    await tasks.drain(5.0)                     # let replies under way finish, cancel the rest
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterator
from typing import Any

__all__ = ["BackgroundTasks"]

log = logging.getLogger(__name__)


class BackgroundTasks:
    """The tasks of one front end; ``prefix`` names its log events."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in a task of its own; an exception in it is logged, never lost."""
        task = asyncio.create_task(coro, name=f"{self._prefix}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error(f"{self._prefix}.task_failed", extra={"task": task.get_name()}, exc_info=error)

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        """Count the current task (a handler the platform library started) until the block ends."""
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def drain(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for the tasks under way, then cancel what is left."""
        current = asyncio.current_task()
        waiting = {t for t in self._tasks if t is not current}
        if not waiting:
            return
        _done, pending = await asyncio.wait(waiting, timeout=timeout_s)
        await self.cancel(pending)

    async def cancel(self, tasks: set[asyncio.Task[Any]] | None = None) -> None:
        """Cancel ``tasks`` (default: all) and wait until they have stopped."""
        current = asyncio.current_task()
        targets = {t for t in (self._tasks if tasks is None else tasks) if t is not current}
        for task in targets:
            task.cancel()
        if targets:
            await asyncio.gather(*targets, return_exceptions=True)
