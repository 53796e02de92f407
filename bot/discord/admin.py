"""``/easel admin …`` on Discord: an app-command group generated from :data:`commands.admin.ADMIN_SUBCOMMANDS`.

::

    /easel admin ban account:@troll reason:spam       →  run_admin(…, ["ban", "<@123>", "spam"])

Who may: members with Manage Server (read from the permissions Discord sends with the
interaction; administrators and the owner have every bit), or members of the role
``EASEL_DISCORD_ADMIN_ROLE`` (an id or a name). ``default_member_permissions`` = Manage Server
makes Discord hide ``/easel`` from everybody else (a server can show it to that role under
Server Settings → Integrations); the same check runs here too, because those settings are the
server's to change. A refused attempt is answered privately at once and written to the audit log.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord.context import DiscordContext
from bot.discord.handlers import requester_of
from bot.discord.moderators import is_discord_admin
from bot.discord.render import MARKUP, NO_MENTIONS
from commands.admin import ADMIN_SUBCOMMANDS, AdminArg, AdminSubcommand, run_admin
from commands.replies import error_text
from services.audit import AuditLog, excerpt
from services.errors import EaselError
from services.jobs import JobRecord

__all__ = ["REFUSED", "DiscordAdmin"]

log = logging.getLogger(__name__)

REFUSED = (
    "Only members with Manage Server (or the easel admin role) can use /easel admin. This attempt was logged."
)
_DESCRIPTION_MAX = 100
_MESSAGE_MAX = 2000


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _annotation(arg: AdminArg) -> Any:
    if arg.kind == "integer":
        low = arg.min_value if arg.min_value is not None else -(2**53)
        high = arg.max_value if arg.max_value is not None else 2**53
        return app_commands.Range[int, low, high]
    return str


class DiscordAdmin:
    """Builds the ``/easel`` group and answers its subcommands."""

    def __init__(self, ctx: DiscordContext, role: str | None) -> None:
        self.ctx = ctx
        self.role = role
        self.audit = AuditLog(ctx.jobs.db)

    def group(self) -> app_commands.Group:
        root = app_commands.Group(
            name="easel",
            description="Moderate easel in this server: limits, bans, the queue",
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
        )
        admin = app_commands.Group(
            name="admin", description="easel's admin commands (Manage Server or the admin role)", parent=root
        )
        for spec in ADMIN_SUBCOMMANDS:
            admin.add_command(self._command(spec, admin))
        return root

    def _command(
        self, spec: AdminSubcommand, parent: app_commands.Group
    ) -> app_commands.Command[Any, ..., None]:
        async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
            await self.run(interaction, spec, values)

        parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        for arg in spec.arguments:
            parameters.append(
                inspect.Parameter(
                    arg.name,
                    inspect.Parameter.KEYWORD_ONLY,
                    annotation=_annotation(arg),
                    default=inspect.Parameter.empty if arg.required else None,
                )
            )
        callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        callback.__name__ = callback.__qualname__ = f"easel_admin_{spec.name}"
        if spec.arguments:
            app_commands.describe(**{a.name: _fit(a.help, _DESCRIPTION_MAX) for a in spec.arguments})(
                callback
            )
        return app_commands.Command(
            name=spec.name, description=_fit(spec.help, _DESCRIPTION_MAX), callback=callback, parent=parent
        )

    async def run(
        self, interaction: discord.Interaction[Any], spec: AdminSubcommand, values: dict[str, Any]
    ) -> None:
        words = [spec.name]
        for arg in spec.arguments:
            value = values.get(arg.name)
            if value is not None:
                words += str(value).split()
        requester = requester_of(interaction.user, interaction)
        with self.ctx.tasks.track():
            if not is_discord_admin(interaction, self.role):  # no I/O before this answer
                await interaction.response.send_message(REFUSED, ephemeral=True, allowed_mentions=NO_MENTIONS)
                await self.audit.record(requester, "admin_refused", detail=excerpt(" ".join(words)))
                log.info("discord.admin_refused", extra={"subcommand": spec.name})
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            budgets = self.ctx.jobs.quota.budgets
            try:
                if budgets is None:
                    raise EaselError("Budgets are not set up on this easel.")
                reply = await run_admin(
                    budgets,
                    requester,
                    requester.venue.server_id,
                    words,
                    jobs=self.ctx.jobs,
                    remove_post=self.remove_post,
                )
            except EaselError as exc:
                reply = error_text(exc, MARKUP)
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": f"easel admin {spec.name}"})
                reply = error_text(EaselError(), MARKUP)
            await interaction.edit_original_response(
                content=_fit(reply, _MESSAGE_MAX), allowed_mentions=NO_MENTIONS
            )

    async def remove_post(self, record: JobRecord) -> bool:
        """Delete the result's message (the bot may always delete its own); False if it is not there."""
        origin = record.origin
        message_id, channel_id = origin.get("original_message_id"), origin.get("channel_id")
        if origin.get("platform") != "discord" or not message_id or not channel_id:
            return False
        guild_id = origin.get("guild_id")
        channel = self.ctx.bot.get_partial_messageable(
            int(channel_id), guild_id=int(guild_id) if guild_id else None
        )
        try:
            await channel.get_partial_message(int(message_id)).delete()
        except discord.NotFound:
            return False
        except discord.HTTPException as exc:
            log.warning("discord.admin_delete_failed", extra={"job_id": record.job_id, "status": exc.status})
            return False
        return True
