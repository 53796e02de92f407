"""One call on one leased GPU host while its progress is watched; interrupting what runs.

While txt2img/img2img run, ``GET /sdapi/v1/progress`` is polled every
``progress_interval_s`` for the fraction, ETA and live preview. A host that stops
answering those polls is given up on (the call fails over to another host). Cancelling
the job's task, or :meth:`HostCalls.cancel`, sends ``POST /sdapi/v1/interrupt``.

The host's slot is given back when its GPU is done, not when the answer has crossed the
network: at the latest when the answer's status line arrives (the web UI renders the whole
body after generation), and earlier when the host's ETA says generation ends within about one
round trip, so the next job arrives at the host as the GPU frees up (it waits there in the web
UI's own queue for the last few milliseconds). A job sent that way and then cancelled while
it still waits on the host is interrupted once it starts, so it does not run for nobody.
"""

from __future__ import annotations

import asyncio
import logging
import time
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
FIRST_POLL_S = 0.25  # the first progress poll comes early: its ETA times the slot's early release
RELEASE_MARGIN_S = 0.01  # sent this much before the round trip says it is needed, to absorb jitter
QUEUED_WAIT_S = 60.0  # how long a cancelled job still waiting on the host is watched to interrupt it


@dataclass(eq=False)
class _Running:
    """A call in flight on a host, so :meth:`HostCalls.cancel` can interrupt it."""

    host: PoolHost[A1111Client]
    lease: Lease[A1111Client]
    task_id: str | None = None  # the payload's force_task_id: lets the host say which job it runs
    cancelled: bool = False  # by HostCalls.cancel()
    lost: HostFailure | None = None  # set by the watcher when the host stops answering
    finished: bool = False  # the POST returned or failed: the watcher must not cancel any more
    answered: bool = False  # the host's answer has begun: its GPU is done with this job


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
        running = _Running(host, lease, task_id if isinstance(task_id, str) else None)
        self._running.add(running)
        task = asyncio.current_task()
        assert task is not None
        watcher = asyncio.create_task(self._watch(host, progress, running, task)) if watch else None

        def answered() -> None:
            running.answered = True
            lease.release()  # the GPU is done: the next job may start while this answer downloads

        try:
            body = await host.client.post_json(path, payload, on_answer=answered)
        except asyncio.CancelledError:
            if running.lost is not None and task.uncancel() == 0:
                raise running.lost from None  # the watcher gave up on this host
            if not running.answered:
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
        """Poll ``/progress``: report previews, give the slot back just before generation ends,
        and notice a host that stopped answering."""
        failures = 0
        last: tuple[float, bytes | None] | None = None
        pause = min(self._progress_interval_s, FIRST_POLL_S)
        while True:
            await asyncio.sleep(pause)
            pause = self._progress_interval_s
            sent = time.monotonic()
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
            if self._on_host(host) > 1:
                # /progress is host-wide: with another job there it may be showing that one. That
                # one is about to end (it gave its slot back): look again soon, for this one's ETA.
                pause = min(self._progress_interval_s, FIRST_POLL_S)
                continue
            eta = body.get("eta_relative")
            if isinstance(eta, int | float) and eta > 0 and not running.answered:
                # Send the next job one round trip (as this poll took) before the GPU frees up.
                early = eta - (time.monotonic() - sent) - RELEASE_MARGIN_S
                if early <= self._progress_interval_s:
                    asyncio.get_running_loop().call_later(max(early, 0.0), running.lease.release)
                else:
                    pause = min(
                        self._progress_interval_s, max(early - self._progress_interval_s, FIRST_POLL_S)
                    )
            if progress is None:
                continue
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

    def _on_host(self, host: PoolHost[A1111Client]) -> int:
        """Our calls the host has not answered yet (some may hold no slot any more)."""
        return sum(1 for r in self._running if r.host is host and not r.answered)

    async def _interrupt_if_ours(self, host: PoolHost[A1111Client], task_id: str | None) -> None:
        """``/interrupt`` stops whatever the host runs, so send it only when that is our job: the host
        says so for a task id it knows (one still waiting there is interrupted once it starts);
        without one, only when no other job of ours is there."""
        state = await host.client.task_state(task_id) if task_id else None
        deadline = time.monotonic() + QUEUED_WAIT_S
        while state == "queued" and task_id and time.monotonic() < deadline:
            await asyncio.sleep(min(self._progress_interval_s, FIRST_POLL_S))
            state = await host.client.task_state(task_id)
        if state is None and self._on_host(host) > 1:
            state = "done"
        if state in ("done", "queued"):
            log.info("gpu_host.interrupt_skipped", extra={"host": host.label})
            return
        await self._interrupt(host)
