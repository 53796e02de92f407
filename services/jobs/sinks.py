"""How a front end hears about its jobs: the sink protocols, and time-boxed notifications.

Usage::

    class DiscordSink:                       # implements JobSink (and ResumeAwareSink)
        async def on_queued(self, job_id, position): ...
        ...

    jobs.register_platform("discord", lambda record: DiscordSink(client, record.origin))

    notify = SinkNotifier(timeout_s=30.0)
    await notify.queued(sink, job_id, position)    # never raises, never hangs past timeout_s

Only ``deliver`` matters to the job: if it raises, the job fails and its quota is
refunded, so the runner calls it directly. Every other notification goes through
:class:`SinkNotifier`: its errors are logged and ignored, and a chat API that hangs
cannot hold a worker (nor ``submit()``, nor ``start()``) for ever and so block every
other user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from services.errors import EaselError
from services.jobs.records import JobRecord
from services.types import JobOutcome, Progress

__all__ = ["SINK_TIMEOUT_S", "JobSink", "PauseAwareSink", "ResumeAwareSink", "SinkFactory", "SinkNotifier"]

log = logging.getLogger(__name__)

# How long a sink notification other than ``deliver`` may take.
SINK_TIMEOUT_S = 30.0


class JobSink(Protocol):
    """How a front end hears about its jobs. Every method may raise; only ``deliver`` matters.

    Errors from ``on_*`` are logged and ignored. If ``deliver`` raises, the job fails and
    its quota is refunded. A sink that also implements :class:`ResumeAwareSink` is told
    ``on_resumed`` instead of ``on_queued`` for a job resumed after a restart.
    """

    async def on_queued(self, job_id: str, position: int) -> None: ...

    async def on_started(self, job_id: str) -> None: ...

    async def on_progress(self, job_id: str, progress: Progress) -> None: ...

    async def deliver(self, outcome: JobOutcome) -> None: ...

    async def on_failed(self, job_id: str, error: EaselError) -> None: ...


@runtime_checkable
class ResumeAwareSink(Protocol):
    """Optional: a sink that words a job resumed after a restart differently from a new one."""

    async def on_resumed(self, job_id: str, position: int) -> None: ...


@runtime_checkable
class PauseAwareSink(Protocol):
    """Optional: a sink that tells its requester when the admins pause generation and resume it."""

    async def on_paused(self, job_id: str) -> None: ...

    async def on_unpaused(self, job_id: str, position: int) -> None: ...


SinkFactory = Callable[[JobRecord], JobSink]


class SinkNotifier:
    """Calls a sink's ``on_*`` methods, each within ``timeout_s``; logs and swallows what goes wrong."""

    def __init__(self, timeout_s: float = SINK_TIMEOUT_S) -> None:
        self.timeout_s = timeout_s

    async def queued(self, sink: JobSink | None, job_id: str, position: int) -> None:
        if sink is not None:
            await self._guarded(job_id, "on_queued", lambda: sink.on_queued(job_id, position))

    async def resumed(self, sink: JobSink | None, job_id: str, position: int) -> None:
        """``on_resumed`` where the sink has it, else ``on_queued``."""
        # Not isinstance(sink, ResumeAwareSink): a runtime Protocol check walks the class's
        # attributes on every call, a measurable share of recovering 10,000 jobs.
        on_resumed = getattr(sink, "on_resumed", None)
        if callable(on_resumed):
            await self._guarded(job_id, "on_resumed", lambda: on_resumed(job_id, position))
        else:
            await self.queued(sink, job_id, position)

    async def started(self, sink: JobSink | None, job_id: str) -> None:
        if sink is not None:
            await self._guarded(job_id, "on_started", lambda: sink.on_started(job_id))

    async def progress(self, sink: JobSink | None, job_id: str, progress: Progress) -> None:
        if sink is not None:
            await self._guarded(job_id, "on_progress", lambda: sink.on_progress(job_id, progress))

    async def failed(self, sink: JobSink | None, job_id: str, error: EaselError) -> None:
        if sink is not None:
            await self._guarded(job_id, "on_failed", lambda: sink.on_failed(job_id, error))

    async def guarded(self, job_id: str, method: str, call: Callable[[], Awaitable[None]]) -> None:
        """Run one notification ``call`` within ``timeout_s``; log and swallow what goes wrong."""
        await self._guarded(job_id, method, call)

    async def _guarded(self, job_id: str, method: str, call: Callable[[], Awaitable[None]]) -> None:
        try:
            async with asyncio.timeout(self.timeout_s):
                await call()
        except TimeoutError:
            log.warning("job.sink_timeout", extra={"job_id": job_id, "method": method})
        except Exception:
            log.warning("job.sink_error", exc_info=True, extra={"job_id": job_id, "method": method})
