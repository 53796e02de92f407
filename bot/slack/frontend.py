"""The Slack front end: bolt ``AsyncApp`` in, easel's commands and job service out.

::

    async with open_services(settings) as services:
        slack = SlackFrontend(services, port=settings.slack_port)   # registers the "slack" job sink
        await services.jobs.start()
        await slack.start()          # HTTP on /slack/events, or Socket Mode with SLACK_APP_TOKEN
        ...
        await slack.close()

``rest_only=True`` (``easel run --role worker``) checks the token and keeps only the Web API
client, to deliver results: no HTTP listener, no Socket Mode connection.

Every listener acknowledges first (Slack's 3-second deadline) and does its work in a background
task afterwards. The listeners live in :mod:`bot.slack.handlers` and talking back to the users
of a job (status, results) in :mod:`bot.slack.sink`; both get a
:class:`bot.slack.context.SlackContext`, not this object.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import Services
from bot.errors import SettingsError
from bot.slack.admin import SlackAdmins
from bot.slack.context import SlackContext
from bot.slack.dedup import RequestDeduplicator
from bot.slack.defaults import register_settings
from bot.slack.files import SlackFileFetcher
from bot.slack.handlers import register_handlers
from bot.slack.history import register_history
from bot.slack.http_server import SlackHttpServer
from bot.slack.models import register_models
from bot.slack.modlog import slack_modlog
from bot.slack.sink import SlackJobSink
from bot.slack.status import StatusTarget, StatusUpdater
from bot.slack.verify import register_verify
from services.audit import AuditLog
from services.intake import Intake
from services.jobs import JobRecord
from services.modlog import ModLogFeed
from services.tasks import BackgroundTasks

__all__ = ["SlackFrontend"]

log = logging.getLogger(__name__)


class _NoEnvTokenWarning(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns that it is unused
    because we pass a client (we authorize ourselves); that warning is noise for operators."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_BOLT_LOG = logging.getLogger("slack_bolt.AsyncApp")  # keeps bot.logs' DEBUG guard
_BOLT_LOG.addFilter(_NoEnvTokenWarning())

PLATFORM = "slack"


def retry_handlers() -> list[AsyncRetryHandler]:
    """Rate-limited calls wait for ``Retry-After`` and go again; transient failures retry once or twice."""
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]


class SlackFrontend:
    """Slack's front end. Construct it before ``jobs.start()`` so recovered jobs find their sink."""

    name = "slack"

    def __init__(
        self, services: Services, *, host: str = "0.0.0.0", port: int | None = None, rest_only: bool = False
    ) -> None:
        settings = services.settings
        if settings.slack_bot_token is None:
            raise SettingsError("SLACK_BOT_TOKEN is not set")
        self.services = services
        self.settings = settings
        self._token = settings.slack_bot_token.get_secret_value()
        self._app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
        signing = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        if self._app_token is None and not signing:
            raise SettingsError("SLACK_SIGNING_SECRET is needed for HTTP mode (or set SLACK_APP_TOKEN)")
        self._host = host
        self.rest_only = rest_only
        self.port = settings.slack_port if port is None else port
        self._session: aiohttp.ClientSession | None = None
        # easel's own client (with the token); bolt gets a token-less twin and our authorize().
        self.client = AsyncWebClient(
            token=self._token, base_url=settings.slack_api_url, retry_handlers=retry_handlers()
        )
        self._bolt_client = AsyncWebClient(base_url=settings.slack_api_url, retry_handlers=retry_handlers())
        self._auth: AuthorizeResult | None = None
        self.bot_user_id: str | None = None
        self.team_id: str | None = None
        self.app = AsyncApp(
            client=self._bolt_client,
            signing_secret=signing or "socket-mode-has-no-signing-secret",
            authorize=self._authorizer(),
            request_verification_enabled=self._app_token is None,
            process_before_response=True,  # listeners only ack and spawn; see handlers.py
            name="easel",
            logger=_BOLT_LOG,
        )
        self.dedup = RequestDeduplicator()
        self.app.middleware(self.dedup.middleware)
        self._http: SlackHttpServer | None = None
        self._socket: Any = None
        self._closing = False
        self._modlog: ModLogFeed | None = None
        self._status_tasks = BackgroundTasks(PLATFORM)  # delayed status updates, cancelled on close
        self.ctx = SlackContext(
            jobs=services.jobs,
            intake=Intake(services.jobs, platform=PLATFORM),
            limits=lambda: services.backend.limits,
            client=self.client,
            files=lambda: SlackFileFetcher(self.session, self._token, api_url=settings.slack_api_url),
            status=self._status_line,
            tasks=BackgroundTasks(PLATFORM),
            bot_user_id=lambda: self.bot_user_id,
            verifier=services.verifier,
            admins=SlackAdmins(self.client, settings.slack_admin_group),
            models=services.models,
        )
        handlers = register_handlers(self.app, self.ctx)
        register_verify(self.app, self.ctx)
        register_models(self.app, self.ctx, services.models)
        handlers.words["history"] = register_history(self.app, self.ctx)
        handlers.words["settings"] = register_settings(self.app, self.ctx, self.ctx.intake.defaults)
        services.jobs.register_platform(PLATFORM, self._sink_for)

    def _status_line(self, target: StatusTarget) -> StatusUpdater:
        return StatusUpdater(target, session=self.session, client=self.client, spawn=self._status_tasks.spawn)

    def _sink_for(self, record: JobRecord) -> SlackJobSink:
        return SlackJobSink(self.ctx, record)

    # ------------------------------------------------------------------ shared plumbing

    @property
    def session(self) -> aiohttp.ClientSession:
        """One HTTP session for the Web API, response URLs and file downloads (opened lazily)."""
        if self._closing:
            raise RuntimeError("the Slack front end is closed")
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
            self.client.session = self._session
        return self._session

    def _authorizer(self) -> Callable[[], Awaitable[AuthorizeResult]]:
        """bolt's ``authorize``: the cached auth.test of ``start()`` (no Web API call before an ack)."""

        async def authorize() -> AuthorizeResult:
            if self._auth is None:
                await self._auth_test()
            assert self._auth is not None
            return self._auth

        return authorize

    async def _auth_test(self) -> None:
        _ = self.session
        resp = await self.client.auth_test()
        self.bot_user_id = resp.get("user_id")
        self.team_id = resp.get("team_id")
        self._auth = AuthorizeResult(
            enterprise_id=resp.get("enterprise_id"),
            team_id=self.team_id,
            bot_token=self._token,
            bot_id=resp.get("bot_id"),
            bot_user_id=self.bot_user_id,
        )

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Check the token (auth.test), then listen: HTTP on ``/slack/events`` or Socket Mode."""
        await self._auth_test()
        if self.rest_only:
            log.info("slack.authorized", extra={"team_id": self.team_id, "mode": "rest-only"})
            return
        if self.settings.slack_modlog_channel:
            self._modlog = slack_modlog(
                self.client, AuditLog(self.services.db), self.settings.slack_modlog_channel
            )
            await self._modlog.start()
        log.info("slack.authorized", extra={"team_id": self.team_id, "bot_user_id": self.bot_user_id})
        if self._app_token is not None:
            from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

            self._socket = AsyncSocketModeHandler(
                self.app, self._app_token, web_client=AsyncWebClient(base_url=self.settings.slack_api_url)
            )
            await self._socket.connect_async()
            log.info("slack.socket_mode_connected")
            return
        self._http = SlackHttpServer(self.app, host=self._host, port=self.port)
        await self._http.start()
        self.port = self._http.port

    async def close(self) -> None:
        """Stop listening, give replies already under way 5 s to finish, close the HTTP session.

        Stop the job service first (as ``easel run`` should): a job delivering after this has no
        session to post with, fails and is refunded.
        """
        if self._modlog is not None:
            await self._modlog.close()
            self._modlog = None
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        await self._status_tasks.cancel()
        await self.ctx.tasks.drain(5.0)
        self._closing = True
        if self._session is not None:
            await self._session.close()
            self._session = None
