"""A latest-wins status line: at most one send per interval, the final text always.

Progress arrives far faster than a chat platform lets a bot edit a message. A text that comes
too soon waits for the end of the interval, replacing any older one still waiting, so the user
sees the newest state and nothing stale::

    line = StatusThrottle(edit_message, min_interval_s=2.0, spawn=tasks.spawn)
    await line.update("queued")        # sent now
    await line.update("12 %")          # too soon: waits …
    await line.update("40 %")          # … replaced; sent when the interval is over
    await line.final("done")           # drops what waits, always sent

``gate`` (an event) holds every update until it is set: jobs resumed at start-up report before
the front end has connected.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

__all__ = ["Spawn", "StatusThrottle", "create_task"]

Send = Callable[[str], Awaitable[object]]
Spawn = Callable[..., "asyncio.Task[Any]"]


def create_task(coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
    """The default ``spawn``: an untracked task."""
    return asyncio.create_task(coro, name=name)


class StatusThrottle:
    """The status line of one job; ``send`` delivers a text (its failures are its own business)."""

    def __init__(
        self,
        send: Send,
        *,
        min_interval_s: float,
        spawn: Spawn = create_task,
        gate: asyncio.Event | None = None,
        name: str = "status",
    ) -> None:
        self._send = send
        self._interval = min_interval_s
        self._spawn = spawn
        self._gate = gate
        self._name = name
        self._lock = asyncio.Lock()
        self._latest: str | None = None
        self._last_sent = float("-inf")
        self._pending: asyncio.Task[Any] | None = None
        self.finished = False

    def _due_in(self) -> float:
        return self._last_sent + self._interval - time.monotonic()

    async def update(self, text: str) -> None:
        """Send ``text`` now, or when the interval is over if another is not already waiting."""
        if self.finished:
            return
        self._latest = text
        if self._pending is not None and not self._pending.done():
            return  # the waiting send will show the latest text
        if self._due_in() <= 0 and (self._gate is None or self._gate.is_set()):
            await self._flush()
        else:
            self._pending = self._spawn(self._flush_later(), name=self._name)

    async def _flush_later(self) -> None:
        if self._gate is not None:
            await self._gate.wait()
        if (wait_s := self._due_in()) > 0:
            await asyncio.sleep(wait_s)
        await self._flush()

    async def _flush(self) -> None:
        async with self._lock:
            text, self._latest = self._latest, None
            if text is None or self.finished:
                return
            self._last_sent = time.monotonic()
            await self._send(text)

    async def stop(self) -> None:
        """No more updates: drop what waits and let a send under way finish."""
        self.finished = True
        self._latest = None
        pending, self._pending = self._pending, None
        if pending is not None and pending is not asyncio.current_task():
            pending.cancel()
        async with self._lock:
            pass

    async def final(self, text: str) -> None:
        """The last text: drops what waits and is always sent (after a send under way)."""
        await self.stop()
        async with self._lock:
            self._last_sent = time.monotonic()
            await self._send(text)

    def cancel(self) -> None:
        """Drop a waiting update without waiting (the front end is closing)."""
        self.finished = True
        if self._pending is not None and self._pending is not asyncio.current_task():
            self._pending.cancel()
        self._pending = None
