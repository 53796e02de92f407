"""How long the event loop went without running anything else: easel, its fakes and the test share it.

A blocking call on the loop (a regex that backtracks, Pillow work not offloaded) shows here as one long
gap between ticks, however fast the machine is, where a wall-clock deadline would only see it when
it happens to be slow enough::

    async with LoopStalls() as stalls:
        ...
    assert stalls.longest_s < 1.0
"""

from __future__ import annotations

import asyncio
import contextlib
import time

__all__ = ["LoopStalls"]

_TICK_S = 0.01


class LoopStalls:
    """See the module docstring."""

    def __init__(self) -> None:
        self.longest_s = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        before = time.monotonic()
        while True:
            await asyncio.sleep(_TICK_S)
            now = time.monotonic()
            self.longest_s = max(self.longest_s, now - before - _TICK_S)
            before = now

    async def __aenter__(self) -> LoopStalls:
        self._task = asyncio.create_task(self._tick(), name="loop-stalls")
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
