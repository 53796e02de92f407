"""``/healthz`` and Prometheus ``/metrics`` while ``easel run`` is up.

Metrics are read from the job service at scrape time (a custom collector), so the
hot path never touches Prometheus objects. The Discord gateway shards of this process
(``DISCORD_SHARDS``) are reported one by one: ``easel_discord_shard_*{shard="N"}`` metrics,
``discord_shards`` in ``/healthz`` (any shard down: degraded) and in ``/status``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector

from services.jobs import JobStats

StatsSource = Callable[[], JobStats]


class ShardHealth(Protocol):
    """One gateway shard of this process (:class:`bot.discord.shards.ShardState`)."""

    @property
    def shard_id(self) -> int: ...
    @property
    def shard_count(self) -> int: ...
    @property
    def connected(self) -> bool: ...
    @property
    def latency_s(self) -> float | None: ...
    @property
    def guilds(self) -> int: ...


ShardSource = Callable[[], Sequence[ShardHealth]]


@runtime_checkable
class ShardReporter(Protocol):
    """A front end holding gateway shards (Discord)."""

    def shard_states(self) -> Sequence[ShardHealth]: ...


def shards_of(frontends: Sequence[object]) -> ShardSource:
    """The shards of every front end that has some, read at each call."""
    return lambda: [s for f in frontends if isinstance(f, ShardReporter) for s in f.shard_states()]


class _ShardCollector(Collector):
    """``easel_discord_shard_*{shard="N"}`` for each shard this process connects."""

    def __init__(self, shards: ShardSource) -> None:
        self._shards = shards

    def collect(self) -> Iterator[GaugeMetricFamily]:
        shards = self._shards()
        connected = GaugeMetricFamily(
            "easel_discord_shard_connected", "1 while the gateway shard is READY", labels=["shard"]
        )
        latency = GaugeMetricFamily(
            "easel_discord_shard_latency_seconds",
            "Gateway heartbeat round trip (NaN until the first ACK)",
            labels=["shard"],
        )
        guilds = GaugeMetricFamily("easel_discord_shard_guilds", "Servers on the shard", labels=["shard"])
        for shard in shards:
            label = [str(shard.shard_id)]
            connected.add_metric(label, 1.0 if shard.connected else 0.0)
            latency.add_metric(label, math.nan if shard.latency_s is None else shard.latency_s)
            guilds.add_metric(label, float(shard.guilds))
        yield connected
        yield latency
        yield guilds
        if shards:
            yield GaugeMetricFamily(
                "easel_discord_shard_count",
                "Shards of the bot across every gateway process (DISCORD_SHARD_COUNT)",
                value=float(shards[0].shard_count),
            )


class _JobCollector(Collector):
    """Exports the job service's counters under ``easel_*`` names."""

    def __init__(self, stats: StatsSource, started_at: float, role: str) -> None:
        self._stats = stats
        self._started_at = started_at
        self._role = role

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | InfoMetricFamily]:
        stats = self._stats()
        jobs = CounterMetricFamily("easel_jobs", "Jobs finished, by outcome", labels=["status"])
        for status, count in stats.jobs_by_status.items():
            jobs.add_metric([status], float(count))
        yield jobs
        yield CounterMetricFamily(
            "easel_jobs_submitted", "Jobs accepted into the queue", value=stats.submitted
        )
        yield CounterMetricFamily(
            "easel_images_delivered", "Images delivered to users", value=stats.images_delivered
        )
        yield CounterMetricFamily(
            "easel_images_filtered",
            "Images withheld by the content filter (refunded)",
            value=stats.images_filtered,
        )
        yield CounterMetricFamily("easel_jobs_resumed", "Jobs resumed after a restart", value=stats.resumed)
        yield GaugeMetricFamily("easel_queue_depth", "Jobs waiting in the queue", value=stats.queue_depth)
        yield GaugeMetricFamily("easel_jobs_running", "Jobs running now", value=stats.running)
        yield GaugeMetricFamily(
            "easel_storage_full",
            "1 while easel cannot store results (disk or SQLite full); jobs wait",
            value=1.0 if stats.storage_full else 0.0,
        )
        yield CounterMetricFamily(
            "easel_storage_full_events",
            "Times the data dir ran out of space",
            value=stats.storage_full_events,
        )
        yield GaugeMetricFamily(
            "easel_uptime_seconds", "Seconds since start", value=time.monotonic() - self._started_at
        )
        yield InfoMetricFamily(
            "easel_role", "What this process does: all, gateway or worker", {"role": self._role}
        )


class HealthServer:
    """A tiny aiohttp site; ``port=0`` picks a free port (see ``.port``)."""

    def __init__(
        self,
        *,
        stats: StatsSource,
        ready: Callable[[], Mapping[str, bool]],
        status: Callable[[], Awaitable[Mapping[str, object]]] | None = None,
        shards: ShardSource = tuple,
        host: str = "0.0.0.0",
        port: int = 8080,
        role: str = "all",
    ) -> None:
        self._stats = stats
        self._ready = ready
        self._status = status
        self._shards = shards
        self._host = host
        self._port = port
        self.role = role  # all, gateway or worker: so an operator can tell the processes apart
        self._registry = CollectorRegistry(auto_describe=True)
        self._registry.register(_JobCollector(stats, time.monotonic(), role))
        self._registry.register(_ShardCollector(shards))
        self._runner: web.AppRunner | None = None
        self.port = port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/status", self._operator_status)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 when every front end is up and easel can store results; else 503 "degraded"."""
        parts = dict(self._ready())
        stats = self._stats()
        if stats.storage_full:
            parts["storage"] = False  # an operator condition monitoring must see; jobs wait meanwhile
        shards = {str(s.shard_id): s.connected for s in self._shards()}
        ok = all(parts.values()) and all(shards.values())
        body: dict[str, object] = {
            "status": "ok" if ok else "degraded",
            "role": self.role,
            "components": parts,
            "queue_depth": stats.queue_depth,
            "running": stats.running,
        }
        if shards:
            body["discord_shards"] = shards
        return web.json_response(body, status=200 if ok else 503)

    async def _operator_status(self, request: web.Request) -> web.Response:
        """The operator view: front ends, backend (credits, GPU hosts), queue and job counters."""
        body: dict[str, object] = {
            "role": self.role,
            "components": dict(self._ready()),
            "jobs": dict(self._stats()),
        }
        if shards := self._shards():
            body["discord_shards"] = [
                {
                    "shard": s.shard_id,
                    "of": s.shard_count,
                    "connected": s.connected,
                    "latency_s": s.latency_s,
                    "guilds": s.guilds,
                }
                for s in shards
            ]
        if self._status is not None:
            body.update(await self._status())
        return web.json_response(body)

    async def _metrics(self, request: web.Request) -> web.Response:
        data = generate_latest(self._registry)
        return web.Response(body=data, headers={"Content-Type": CONTENT_TYPE_LATEST})
