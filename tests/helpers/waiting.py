"""Polling for a condition a test cannot await directly (a fake's counter, a backend's state)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], bool], within_s: float = 3.0) -> None:
    """Return once ``condition()`` holds (checked every 10 ms); fail after ``within_s``."""
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def rows_until(
    db: Any, sql: str, count: int, params: tuple[Any, ...] = (), within_s: float = 5.0
) -> list[sqlite3.Row]:
    """The rows ``sql`` selects once there are ``count`` of them (written by a task the test cannot await)."""
    deadline = time.monotonic() + within_s
    while len(rows := await db.fetchall(sql, params)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(rows)} of {count} rows in time: {sql}")
        await asyncio.sleep(0.02)
    return list(rows)
