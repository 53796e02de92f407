"""``easel run``: every configured front end, the job workers and the health endpoint in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Protocol

from bot.app import Services, open_services
from bot.health import HealthServer
from bot.settings import Settings
from services.errors import EaselError

log = logging.getLogger(__name__)


class Frontend(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...


def missing_for_run(settings: Settings) -> list[str]:
    """What must be set before ``easel run`` can do anything useful (empty when ready)."""
    missing: list[str] = []
    if not settings.discord_enabled and not settings.slack_enabled:
        missing.append(
            "DISCORD_TOKEN (Discord bot token) and/or SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET "
            "(or SLACK_APP_TOKEN for Socket Mode) for Slack"
        )
    missing.extend(settings.backend_problems())
    return missing


async def operator_status(services: Services) -> dict[str, object]:
    """Backend facts for ``/status``: credits (Stability) and each GPU host's state."""
    backend = services.backend
    status: dict[str, object] = {"backend": backend.name, "model": services.limits.default_model}
    balance = getattr(backend, "balance", None)
    if balance is not None:
        try:
            status["credits"] = await balance()
        except EaselError as exc:
            status["credits_error"] = exc.user_message
    host_states = getattr(backend, "host_states", None)
    if host_states is not None:
        status["hosts"] = {label: str(state) for label, state in host_states().items()}
    return status


def build_frontends(services: Services) -> list[Frontend]:
    """Construct (not start) the configured front ends; constructing registers their job sinks."""
    frontends: list[Frontend] = []
    if services.settings.discord_enabled:
        from bot.discord import DiscordFrontend

        frontends.append(DiscordFrontend(services))
    if services.settings.slack_enabled:
        from bot.slack import SlackFrontend

        frontends.append(SlackFrontend(services, port=services.settings.slack_port))
    return frontends


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then shut down in order."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread / platform
            pass

    async with open_services(settings) as services:
        frontends = build_frontends(services)
        ready: dict[str, bool] = {f.name: False for f in frontends}
        health = HealthServer(
            stats=services.jobs.stats,
            ready=lambda: dict(ready),
            status=lambda: operator_status(services),
            port=settings.http_port,
        )
        await health.start()
        log.info("health.listening", extra={"port": health.port})
        try:
            report = await services.jobs.start()
            log.info("jobs.started", extra={"recovered": report})
            for frontend in frontends:
                await frontend.start()
                ready[frontend.name] = True
                log.info("frontend.ready", extra={"frontend": frontend.name})
            await stop.wait()
            log.info("shutdown.begin")
        finally:
            # Let running jobs finish (or park them for the next start) while the front ends
            # can still post; only then disconnect from the platforms.
            await services.jobs.stop()
            for frontend in reversed(frontends):
                try:
                    await frontend.close()
                except Exception:
                    log.exception("frontend.close_failed", extra={"frontend": frontend.name})
            await health.close()
