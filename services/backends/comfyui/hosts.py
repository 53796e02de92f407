"""Several ComfyUI hosts behind one backend: each job goes to the least busy host that can run it;
a host that fails (connection refused, 5xx, websocket lost) leaves the rotation, the job moves to
another host, and the failed host is asked ``/object_info`` again before it gets work.

::

    pool = HostPool([ComfyClient(url, session) for url in urls], reprobe_s=30)
    await pool.probe(force=True)
    images = await pool.run(lambda host: render_on(host), serves=lambda host: has_nodes(host))

ComfyUI queues prompts itself, so a host is not limited to one job; spreading them over the
least busy host keeps every GPU working. Uploads and the prompt of one job go to the same host.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import TypeVar

from services.backends.comfyui.catalog import HostCatalog
from services.backends.comfyui.client import ComfyClient
from services.backends.retry import TransientError
from services.errors import EaselError

__all__ = ["ComfyHost", "HostPool", "HostState"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class HostState(StrEnum):
    UNKNOWN = "unknown"
    UP = "up"
    DOWN = "down"


class ComfyHost:
    def __init__(self, client: ComfyClient) -> None:
        self.client = client
        self.label = client.base_url
        self.state = HostState.UNKNOWN
        self.catalog: HostCatalog | None = None
        self.in_flight = 0
        self.started = 0
        self.checked_at = 0.0
        self.last_error = ""


class HostPool:
    def __init__(self, clients: Sequence[ComfyClient], *, reprobe_s: float = 30.0) -> None:
        if not clients:
            raise ValueError("at least one ComfyUI host is needed")
        self.hosts = [ComfyHost(c) for c in clients]
        self._reprobe_s = reprobe_s

    def up(self) -> list[ComfyHost]:
        return [h for h in self.hosts if h.state is HostState.UP]

    def states(self) -> dict[str, str]:
        return {h.label: h.state.value for h in self.hosts}

    async def probe(self, *, force: bool) -> None:
        """Ask ``/object_info`` of every host not known to be up (all of them when ``force``) that is due."""
        now = time.monotonic()
        due = [
            h
            for h in self.hosts
            if force or (h.state is not HostState.UP and now - h.checked_at >= self._reprobe_s)
        ]
        await asyncio.gather(*(self._probe(h) for h in due))

    async def _probe(self, host: ComfyHost) -> None:
        host.checked_at = time.monotonic()
        try:
            host.catalog = HostCatalog.from_object_info(await host.client.object_info())
        except (TransientError, EaselError) as exc:
            self._down(host, str(exc))
            return
        if host.state is not HostState.UP:
            log.info("comfyui.host_up", extra={"host": host.label})
        host.state = HostState.UP

    def _down(self, host: ComfyHost, reason: str) -> None:
        if host.state is not HostState.DOWN:
            log.warning("comfyui.host_down", extra={"host": host.label, "reason": reason[:200]})
        host.state, host.last_error, host.checked_at = HostState.DOWN, reason, time.monotonic()

    async def run(
        self, call: Callable[[ComfyHost], Awaitable[T]], *, serves: Callable[[ComfyHost], bool]
    ) -> T:
        """``call`` on the least busy up host that ``serves``; on a transient failure, on the next one.

        Raises :class:`TransientError` when no host is left (the caller's retry policy decides
        whether to wait and try again).
        """
        tried: set[int] = set()
        while True:
            host = self._pick(serves, tried)
            if host is None:
                await self.probe(force=False)
                host = self._pick(serves, tried)
            if host is None:
                raise TransientError("comfyui: no reachable host can run this workflow")
            tried.add(id(host))
            host.in_flight += 1
            host.started += 1
            try:
                return await call(host)
            except TransientError as exc:
                self._down(host, exc.detail)
            finally:
                host.in_flight -= 1

    def _pick(self, serves: Callable[[ComfyHost], bool], tried: set[int]) -> ComfyHost | None:
        candidates = [h for h in self.up() if id(h) not in tried and serves(h)]
        return min(candidates, key=lambda h: (h.in_flight, h.started), default=None)
