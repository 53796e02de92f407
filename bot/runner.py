"""``easel run``: every configured front end, the job workers and the health endpoint in one process.

``--role gateway`` keeps the front ends and the health endpoint but runs no jobs; ``--role worker``
runs the jobs of the shared queue and starts the front ends REST-only (logged in to post
results, never connected to a gateway or listening for Slack), see :mod:`services.jobs.roles`.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeGuard

import aiohttp

from bot.app import Services, open_services
from bot.check import slack_app_token_error
from bot.errors import OperatorError, StartupError
from bot.health import HealthServer, shards_of
from bot.settings import Settings
from services.backends.base import Backend, BalanceReporter, HostStateReporter
from services.backends.routing import RoutingBackend
from services.errors import EaselError
from services.jobs import Role
from services.jobs.control import ControlPoller, ControlRequest, ControlRequests, stop_poller
from services.retention import RetentionPurge

log = logging.getLogger(__name__)


class Frontend(Protocol):
    name: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...


_SLACK_TOKEN_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "not_allowed_token_type",
    }
)


def _port_in_use(exc: BaseException) -> TypeGuard[OSError]:
    return isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def _unreachable(exc: BaseException | None) -> bool:
    return isinstance(exc, (aiohttp.ClientConnectionError, TimeoutError, ConnectionError))


def describe_start_failure(name: str, exc: BaseException, settings: Settings) -> str:
    """Turn a front end's start-up exception into one line naming what the operator should check."""
    if name == "slack":
        from slack_sdk.errors import SlackApiError

        if isinstance(exc, SlackApiError):
            error = str(exc.response.get("error") or "not ok")
            api_url = str(getattr(exc.response, "api_url", ""))
            variable = "SLACK_APP_TOKEN" if api_url.endswith("apps.connections.open") else "SLACK_BOT_TOKEN"
            if error in _SLACK_TOKEN_ERRORS:
                return f"Slack refused {variable} ({error}). Copy the token from your Slack app's settings again."
            return f"Slack answered {error} while checking {variable} at start-up"
        if _port_in_use(exc):
            return f"EASEL_SLACK_PORT {settings.slack_port} is not free ({exc.strerror}); choose another port"
        if _unreachable(exc):
            return f"cannot reach Slack at SLACK_API_URL {settings.slack_api_url} ({type(exc).__name__})"
    if name == "discord" and _unreachable(exc.__cause__):
        return (
            f"cannot reach Discord at DISCORD_API_BASE {settings.discord_api_base} "
            f"({type(exc.__cause__).__name__})"
        )
    if isinstance(exc, OperatorError):
        return exc.message
    return f"the {name} front end did not start: {type(exc).__name__}: {exc}"


async def _preflight(name: str, settings: Settings) -> None:
    """Credentials a library would retry forever instead of refusing: check them before starting."""
    if name != "slack" or settings.slack_app_token is None:
        return
    timeout = aiohttp.ClientTimeout(total=10, connect=5)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            error = await slack_app_token_error(settings, session)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return  # unreachable: auth.test in the front end's start names SLACK_API_URL
    if error in _SLACK_TOKEN_ERRORS:
        raise StartupError(
            f"Slack refused SLACK_APP_TOKEN ({error}). Copy the app-level token (xapp-…) "
            "from your Slack app's Basic Information page again."
        )


async def _start_unless_stopped(frontend: Frontend, stop: asyncio.Event) -> bool:
    """Start ``frontend``; give up (False) if a stop signal arrives first, e.g. ``docker stop``."""
    starting = asyncio.ensure_future(frontend.start())
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        starting.cancel()
        raise
    finally:
        stopping.cancel()
    if starting.done():
        starting.result()  # raises the front end's start-up error
        return True
    log.info("frontend.start_abandoned", extra={"frontend": frontend.name})
    starting.cancel()
    try:
        await starting
    except BaseException:  # cancelled, or it failed while being cancelled: we are stopping anyway
        pass
    return False


async def operator_status(services: Services) -> dict[str, object]:
    """Backend facts for ``/status``: credits (Stability), each GPU host's state, and with several
    services enabled the same per service, with its circuit."""
    backend = services.backend
    status: dict[str, object] = {"backend": backend.name, "model": services.limits.default_model}
    status.update(await _service_status(backend))
    if isinstance(backend, RoutingBackend):
        services_status: dict[str, object] = {}
        for name, plugin in backend.plugins.items():
            facts = await _service_status(plugin)
            circuit = backend.circuits.get(name)
            if circuit is not None:
                facts["circuit"] = str(circuit.state)
            services_status[name] = facts
        status["services"] = services_status
    return status


async def _service_status(backend: Backend) -> dict[str, object]:
    facts: dict[str, object] = {}
    if isinstance(backend, BalanceReporter):
        try:
            facts["credits"] = await backend.balance()
        except EaselError as exc:
            facts["credits_error"] = exc.user_message
    if isinstance(backend, HostStateReporter):
        facts["hosts"] = {label: str(state) for label, state in backend.host_states().items()}
    return facts


def build_frontends(services: Services, role: Role = Role.ALL) -> list[Frontend]:
    """Construct (not start) the configured front ends; constructing registers their job sinks.

    A worker's front ends are REST-only: they deliver results and take no interactions.
    """
    frontends: list[Frontend] = []
    rest_only = role is Role.WORKER
    if services.settings.discord_enabled:
        from bot.discord import DiscordFrontend

        frontends.append(DiscordFrontend(services, rest_only=rest_only))
    if services.settings.slack_enabled:
        from bot.slack import SlackFrontend

        frontends.append(SlackFrontend(services, port=services.settings.slack_port, rest_only=rest_only))
    return frontends


def _admin_handler(services: Services) -> Callable[[ControlRequest], Awaitable[str]]:
    """``easel admin pause|resume|queue|cancel`` from the shell, run here with the chat's grammar."""
    from bot.app import budget_book
    from commands.admin import run_admin

    budgets = budget_book(services.db, services.settings)

    async def handle(request: ControlRequest) -> str:
        words = list(request.words)
        return await run_admin(budgets, request.actor_key, request.server_id, words, jobs=services.jobs)

    return handle


async def serve(settings: Settings, *, role: Role = Role.ALL, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or ``stop`` is set), then shut down in order."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread / platform
            pass

    async with open_services(settings) as services:
        frontends = build_frontends(services, role)
        ready: dict[str, bool] = {f.name: False for f in frontends}
        health = HealthServer(
            stats=services.jobs.stats,
            ready=lambda: dict(ready),
            status=lambda: operator_status(services),
            shards=shards_of(frontends),
            port=settings.http_port,
            role=role.value,
        )
        retention: asyncio.Task[None] | None = None
        control: asyncio.Task[None] | None = None
        try:
            # The data dir lock first: a second ``easel run`` on the same data is told so, not
            # that the health port is taken.
            # Unfinished jobs are queued again in the background while /healthz and the front ends
            # already answer (issue 15); jobs.started logs the resumed/refunded counts when done.
            await services.jobs.start(recover_in_background=True, role=role)
            log.info("run.role", extra={"role": str(role)})
            if settings.retention_days is not None:
                purge = RetentionPurge(services.db, services.store, days=settings.retention_days)
                retention = purge.start()
            control = ControlPoller(ControlRequests(services.db), _admin_handler(services)).start()
            try:
                await health.start()
            except OSError as exc:
                if _port_in_use(exc):
                    raise StartupError(
                        f"EASEL_HTTP_PORT {settings.http_port} is not free ({exc.strerror}); choose another port"
                    ) from exc
                raise
            log.info("health.listening", extra={"port": health.port})
            for frontend in frontends:
                try:
                    if role is not Role.WORKER:  # a worker opens no Socket Mode connection to check
                        await _preflight(frontend.name, settings)
                    started = await _start_unless_stopped(frontend, stop)
                except Exception as exc:
                    reason = describe_start_failure(frontend.name, exc, settings)
                    log.error("frontend.start_failed", extra={"frontend": frontend.name, "reason": reason})
                    if isinstance(exc, StartupError) and reason == exc.message:
                        raise
                    raise StartupError(reason) from exc
                if not started:
                    break
                ready[frontend.name] = True
                log.info("frontend.ready", extra={"frontend": frontend.name})
            await stop.wait()
            log.info("shutdown.begin")
        finally:
            # Let running jobs finish (or park them for the next start) while the front ends
            # can still post; only then disconnect from the platforms.
            if retention is not None:
                retention.cancel()
            await stop_poller(control)
            await services.jobs.stop()
            for frontend in reversed(frontends):
                try:
                    await frontend.close()
                except Exception:
                    log.exception("frontend.close_failed", extra={"frontend": frontend.name})
            await health.close()
