"""One call on one leased GPU host while its progress is watched; interrupting what runs.

While txt2img/img2img run, ``GET /sdapi/v1/progress`` is polled every
``progress_interval_s`` for the fraction, ETA and live preview. A host that stops
answering those polls is given up on (the call fails over to another host). Cancelling
the job's task, or :meth:`HostCalls.cancel`, sends ``POST /sdapi/v1/interrupt``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from services.backends.a1111.client import A1111Client, HostFailure
from services.backends.a1111.pool import Lease, PoolHost
from services.backends.a1111.responses import progress_from
from services.backends.base import ProgressCallback
from services.errors import BackendError, JobCancelled

__all__ = ["WATCH_FAILURES", "HostCalls"]

log = logging.getLogger(__name__)

WATCH_FAILURES = 3  # progress polls failing in a row before the host counts as gone


@dataclass(eq=False)
class _Running:
    """A call in flight on a host, so :meth:`HostCalls.cancel` can interrupt it."""

    host: PoolHost[A1111Client]
    task_id: str | None = None  # the payload's force_task_id: lets the host say which job it runs
    cancelled: bool = False  # by HostCalls.cancel()
    lost: HostFailure | None = None  # set by the watcher when the host stops answering
    finished: bool = False  # the POST returned or failed: the watcher must not cancel any more


class HostCalls:
    """The calls in flight on every host of one backend::

    calls = HostCalls(progress_interval_s=1.0)
    body = await pool.run(lambda lease: calls.post(lease, TXT2IMG, payload, progress))
    await calls.cancel()          # interrupts them all; their ``post`` raises JobCancelled
    """

    def __init__(self, *, progress_interval_s: float = 1.0) -> None:
        self._progress_interval_s = progress_interval_s
        self._running: set[_Running] = set()

    async def post(
        self,
        lease: Lease[A1111Client],
        path: str,
        payload: dict[str, Any],
        progress: ProgressCallback | None,
        *,
        watch: bool = True,
    ) -> Any:
        """POST to the leased host while a watcher polls its progress.

        The POST is awaited in the job's own task (no extra hop on the path between one
        job and the next); the watcher cancels that task if the host stops answering, and
        the cancellation becomes a :class:`HostFailure`. If the job itself is cancelled,
        the host is interrupted so the GPU does not keep working for nobody.
        """
        host = lease.host
        task_id = payload.get("force_task_id")
        running = _Running(host, task_id if isinstance(task_id, str) else None)
        self._running.add(running)
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(host, progress, running, task)) if watch else None
        try:
            body = await host.client.post_json(path, payload)
        except asyncio.CancelledError:
            if running.lost is not None and task.uncancel() == 0:
                raise running.lost from None  # the watcher gave up on this host
            await self._interrupt_if_ours(host, running.task_id)
            raise
        finally:
            running.finished = True
            lease.release()  # the host has answered (or failed): the next job may start now
            self._running.discard(running)
            if watcher is not None:
                watcher.cancel()
                await asyncio.gather(watcher, return_exceptions=True)
        if running.cancelled:
            raise JobCancelled()
        return body

    async def _watch(
        self,
        host: PoolHost[A1111Client],
        progress: ProgressCallback | None,
        running: _Running,
        job: asyncio.Task[Any],
    ) -> None:
        """Poll ``/progress``: report previews, and notice a host that stopped answering."""
        failures = 0
        last: tuple[float, bytes | None] | None = None
        while True:
            await asyncio.sleep(self._progress_interval_s)
            try:
                body = await host.client.progress(with_preview=progress is not None)
            except HostFailure as err:
                failures += 1
                log.info("gpu_host.progress_failed", extra={"host": host.label, "failures": failures})
                if failures >= WATCH_FAILURES and not running.finished:
                    running.lost = HostFailure(
                        log_detail=f"{err.log_detail} ({failures} progress polls in a row)"
                    )
                    job.cancel()
                    return
                continue
            except BackendError:
                continue  # e.g. a fork without /progress: nothing to report, nothing wrong
            failures = 0
            if progress is None or host.in_flight > 1:
                continue  # /progress is host-wide: with another job there it may be showing that one
            report = await progress_from(body, with_preview=True)
            if report is None or (report.fraction, report.preview_png) == last:
                continue
            last = (report.fraction, report.preview_png)
            try:
                await progress(report)
            except Exception:
                log.warning("gpu_host.progress_callback_failed", extra={"host": host.label}, exc_info=True)

    async def _interrupt(self, host: PoolHost[A1111Client]) -> None:
        try:
            await asyncio.wait_for(host.client.interrupt(), 5)
            log.info("gpu_host.interrupted", extra={"host": host.label})
        except (BackendError, TimeoutError):
            log.warning("gpu_host.interrupt_failed", extra={"host": host.label})

    async def cancel(self) -> None:
        """Interrupt every running generation; their ``post`` calls raise :class:`JobCancelled`."""
        running = list(self._running)
        for r in running:
            r.cancelled = True
        await asyncio.gather(*(self._interrupt_if_ours(r.host, r.task_id) for r in running))

    async def _interrupt_if_ours(self, host: PoolHost[A1111Client], task_id: str | None) -> None:
        """``/interrupt`` stops whatever the host runs, so send it only when that is our job: the host
        says so for a task id it knows; otherwise only when no other job of ours is there."""
        known = await host.client.task_running(task_id) if task_id else None
        if known is None and host.in_flight > 1:
            known = False
        if known is False:
            log.info("gpu_host.interrupt_skipped", extra={"host": host.label})
            return
        await self._interrupt(host)
