"""The Discord front end: slash commands and buttons in, easel's commands and job service out.

::

    async with open_services(settings) as services:
        discord_fe = DiscordFrontend(services)   # registers the "discord" job sink
        await services.jobs.start()              # recovered jobs find that sink
        await discord_fe.start()                 # login, sync commands, connect every shard
        ...
        await discord_fe.close()

``rest_only=True`` (``easel run --role worker``) logs in over HTTP only, to deliver results:
no command sync, no gateway (:mod:`bot.discord.rest_only`).

``DISCORD_API_BASE`` is applied to ``discord.http.Route.BASE`` (process-wide, REST and
interaction webhooks) before login; see :mod:`bot.discord.client` for the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from bot.app import Services
from bot.discord.admin import DiscordAdmin
from bot.discord.attachments import AttachmentFetcher
from bot.discord.client import EaselBot
from bot.discord.components import ResultButton
from bot.discord.context import DiscordContext
from bot.discord.defaults import settings_command
from bot.discord.handlers import DiscordHandlers
from bot.discord.models import models_command
from bot.discord.modlog import discord_modlog
from bot.discord.rest_only import RestOnlyBot
from bot.discord.shards import ShardState, gateway_refusal
from bot.discord.sink import PLATFORM, DiscordJobSink
from bot.discord.slash import build_app_command
from bot.discord.status import status_command
from bot.discord.verify import verify_command
from bot.errors import SettingsError, StartupError
from bot.logs import guard_library_logs
from commands import available_commands
from commands.history import HISTORY
from commands.info import HELP, QUOTA
from commands.status import format_shard_ids
from services.audit import AuditLog
from services.identify_slots import IdentifySlots
from services.intake import Intake
from services.jobs import JobRecord
from services.modlog import ModLogFeed
from services.tasks import BackgroundTasks

__all__ = ["DiscordFrontend"]

log = logging.getLogger(__name__)

INTERACTION_TOKEN_LIFETIME_S = 15 * 60.0
UPLOAD_SLOTS = 4  # results uploading at once (bench/discord_ack.py: more slots, slower acks)


class DiscordFrontend:
    """Discord's front end. Construct it before ``jobs.start()`` so recovered jobs find their sink."""

    name = "discord"

    def __init__(
        self,
        services: Services,
        *,
        token_lifetime_s: float = INTERACTION_TOKEN_LIFETIME_S,
        start_timeout_s: float = 60.0,
        rest_only: bool = False,
    ) -> None:
        settings = services.settings
        if settings.discord_token is None or not settings.discord_token.get_secret_value():
            raise SettingsError("DISCORD_TOKEN is not set")
        self.services = services
        self.settings = settings
        self.rest_only = rest_only
        self.bot = (RestOnlyBot if rest_only else EaselBot)(
            gateway_url=settings.discord_gateway_url,
            guild_ids=settings.discord_guild_ids,
            setup=self._setup,
            shards=settings.discord_shard_plan,
            identify_turns=IdentifySlots(services.db) if services.db.dialect == "postgresql" else None,
        )
        self.ctx = DiscordContext(
            jobs=services.jobs,
            intake=Intake(services.jobs, platform=PLATFORM),
            limits=lambda: services.backend.limits,
            bot=self.bot,
            attachments=AttachmentFetcher(),
            tasks=BackgroundTasks(PLATFORM),
            status_tasks=BackgroundTasks(PLATFORM),
            upload_slots=asyncio.Semaphore(UPLOAD_SLOTS),
            ready=asyncio.Event(),
            token_lifetime_s=token_lifetime_s,
            start_timeout_s=start_timeout_s,
            verifier=services.verifier,
            admin_role=settings.discord_admin_role,
        )
        self.handlers = DiscordHandlers(self.ctx)
        self.bot.router = self.handlers
        self.start_timeout_s = start_timeout_s
        self._task: asyncio.Task[None] | None = None
        self._modlog: ModLogFeed | None = None
        services.jobs.register_platform(PLATFORM, self._sink_for)

    def _sink_for(self, record: JobRecord) -> DiscordJobSink:
        return DiscordJobSink(self.ctx, record)

    @property
    def ready(self) -> bool:
        """Connected and serving (between :meth:`start` and :meth:`close`)."""
        return self.ctx.ready.is_set()

    def shard_states(self) -> tuple[ShardState, ...]:
        """This process's gateway shards, for ``/healthz``, ``/status`` and ``/metrics`` (none before
        the gateway is launched, and none for a front end that only talks REST)."""
        return self.bot.shard_states()

    # ---------------------------------------------------------------- lifecycle

    async def _setup(self, bot: EaselBot) -> None:
        """Runs in ``setup_hook``, after login and before the gateway: commands and buttons."""
        limits = self.ctx.limits()
        bot.add_dynamic_items(ResultButton)
        for spec in available_commands(limits):
            bot.tree.add_command(build_app_command(spec, limits, self.handlers.on_slash, self.ctx.limits))
        bot.tree.add_command(
            app_commands.Command(name=QUOTA.name, description=QUOTA.description, callback=self._quota)
        )
        bot.tree.add_command(
            app_commands.Command(name=HELP.name, description=HELP.description, callback=self._help)
        )
        bot.tree.add_command(verify_command(self.ctx))
        bot.tree.add_command(status_command(self.ctx))
        bot.tree.add_command(models_command(self.services.models, self.ctx.tasks))
        bot.tree.add_command(DiscordAdmin(self.ctx, self.ctx.admin_role).group())
        bot.tree.add_command(
            app_commands.Command(name=HISTORY.name, description=HISTORY.description, callback=self._history)
        )
        if available_commands(limits):  # defaults are for the picture commands
            bot.tree.add_command(settings_command(limits, self.handlers.on_settings, self.ctx.limits))

    async def _quota(self, interaction: discord.Interaction[Any]) -> None:
        await self.handlers.on_quota(interaction)

    async def _help(self, interaction: discord.Interaction[Any]) -> None:
        await self.handlers.on_help(interaction)

    async def _history(self, interaction: discord.Interaction[Any]) -> None:
        await self.handlers.on_history(interaction)

    async def start(self) -> None:
        """Log in, sync commands and connect this process's shards; returns once all are READY (or raises)."""
        discord.http.Route.BASE = self.settings.discord_api_base.rstrip("/")
        guard_library_logs()
        await self.ctx.attachments.start()
        token = self.settings.discord_token.get_secret_value() if self.settings.discord_token else ""
        if self.rest_only:
            await self._login_rest_only(token)
            return
        self._task = asyncio.create_task(self.bot.start(token), name="easel-discord")
        connected = asyncio.create_task(self.bot.connected.wait())
        try:
            done, _ = await asyncio.wait(
                {self._task, connected}, timeout=self.start_timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            connected.cancel()
        if self._task in done:
            error = self._task.exception()
            await self.close()
            if isinstance(error, discord.LoginFailure):
                raise StartupError("Discord refused DISCORD_TOKEN (401). Copy the bot token again.") from None
            if isinstance(error, discord.PrivilegedIntentsRequired):
                raise StartupError("Discord refused the gateway intents") from None
            if refusal := gateway_refusal(error):
                raise StartupError(refusal) from None
            raise StartupError(f"Discord connection failed: {type(error).__name__}: {error}") from error
        if not done:
            await self.close()
            raise StartupError(f"Discord did not become ready within {self.start_timeout_s:g} s")
        self.ctx.ready.set()
        if self.settings.discord_modlog_channel is not None:
            self._modlog = discord_modlog(
                self.bot, AuditLog(self.services.db), self.settings.discord_modlog_channel
            )
            await self._modlog.start()
        log.info(
            "discord.ready",
            extra={
                "shards": self.bot.shard_count,
                "shard_ids": format_shard_ids(self.bot.own_shard_ids),
                "guilds": len(self.bot.guilds),
            },
        )

    async def _login_rest_only(self, token: str) -> None:
        """A worker: authenticate the REST client (``Client.login``) and connect nothing else."""
        try:
            await asyncio.wait_for(self.bot.login(token), self.start_timeout_s)
        except discord.LoginFailure:
            await self.close()
            raise StartupError("Discord refused DISCORD_TOKEN (401). Copy the bot token again.") from None
        except Exception as error:
            await self.close()
            raise StartupError(f"Discord login failed: {type(error).__name__}: {error}") from error
        self.ctx.ready.set()
        log.info("discord.ready", extra={"mode": "rest-only"})

    async def close(self) -> None:
        if self._modlog is not None:
            await self._modlog.close()
            self._modlog = None
        self.ctx.ready.clear()
        await self.ctx.tasks.drain(5.0)
        await self.ctx.status_tasks.cancel()
        if not self.bot.is_closed():
            await self.bot.close()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 10)
            except Exception as exc:  # the task's own failure was reported by start()
                log.debug("discord.closed_with", extra={"error_kind": type(exc).__name__})
            self._task = None
        await self.ctx.attachments.close()
