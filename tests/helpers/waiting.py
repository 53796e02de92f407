"""Polling for a condition a test cannot await directly (a fake's counter, a backend's state)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(condition: Callable[[], bool], within_s: float = 3.0) -> None:
    """Return once ``condition()`` holds (checked every 10 ms); fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
