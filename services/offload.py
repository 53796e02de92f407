"""The one way CPU-bound work (Pillow decode/stamp/encode) leaves the event loop.

Pillow releases the GIL while it decodes, resizes and compresses, so a small
thread pool keeps the loop responsive without the pickling cost of processes.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

_executor: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        workers = int(os.environ.get("EASEL_CPU_WORKERS", "0")) or min(4, (os.cpu_count() or 1) + 1)
        _executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="easel-cpu")
    return _executor


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run ``fn(*args, **kwargs)`` in the CPU pool and await its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool(), functools.partial(fn, *args, **kwargs))
