"""What happens when someone uses a slash command, a button or the remix modal.

Every handler acknowledges first — ``defer``, a modal, or an answer computed without I/O —
and only then downloads, validates, reads SQLite or queues. A slash command's flags, options
and declared attachment types need no I/O, so they are checked before the deferral and a typo
is answered privately at once: nothing public ever appears for bad input. Other errors (quota,
unknown jobs, bad attachment contents) are shown only to the person who caused them and spend
nothing: quota is reserved by ``jobs.submit`` only after the request is valid. Right after the
deferral the request is recorded (:mod:`services.jobs.pending`), so a restart before it became
a job tells the person instead of leaving "thinking…" for good. Requests are built in
:mod:`commands` (follow-ups in :mod:`commands.followups`) and queued through
:class:`services.intake.Intake`; this module only translates.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord

from bot.discord.components import modal_values, remix_modal
from bot.discord.context import DiscordContext
from bot.discord.defaults import settings_reply
from bot.discord.history import history_embed, history_view
from bot.discord.moderators import is_discord_moderator
from bot.discord.render import MARKUP, NO_MENTIONS, help_embed, prompt_from_embed
from bot.discord.sink import make_origin, tell_privately
from commands import CommandSpec, Invocation
from commands.actions import Action, Verb, decode, is_stale
from commands.building import parse_invocation
from commands.followups import followup, image_number, remix
from commands.help import command_overview
from commands.history import run_again
from commands.prompts import prompt_text
from commands.replies import STALE_BUTTON, Icon, error_text, not_allowed_to_delete, quota_text
from commands.settings import build_with_defaults
from services.audit import AuditLog
from services.errors import EaselError, JobNotFound, NotAllowed
from services.intake import Built, PersonalBuild, Refused
from services.jobs import user_hash
from services.types import GenerationRequest, Requester, Venue

__all__ = ["DiscordHandlers", "requester_of"]

log = logging.getLogger(__name__)

_MODERATORS = "members who can manage messages, and easel admins"


def requester_of(
    user: discord.User | discord.Member, interaction: discord.Interaction[Any] | None = None
) -> Requester:
    """Who asked and from where: guild, channel, the member's roles and the channel's NSFW flag."""
    venue = Venue()
    if interaction is not None:
        channel = interaction.channel
        roles = getattr(user, "roles", None) or ()
        venue = Venue(
            server_id=str(interaction.guild_id or ""),
            channel_id=str(interaction.channel_id or ""),
            role_ids=frozenset(str(role.id) for role in roles if role.id != interaction.guild_id),
            nsfw=bool(getattr(channel, "nsfw", False)),
        )
    return Requester(platform="discord", user_id=str(user.id), display_name=user.display_name, venue=venue)


class DiscordHandlers:
    """The interaction handlers of one Discord front end (its :class:`EaselBot`'s router)."""

    def __init__(self, ctx: DiscordContext) -> None:
        self.ctx = ctx

    # ---------------------------------------------------------------- replies

    async def _defer(self, interaction: discord.Interaction[Any], *, ephemeral: bool = False) -> int | None:
        """Acknowledge with a loading message; returns its message id."""
        response = await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        return response.message_id if response is not None else None

    async def _tell(self, interaction: discord.Interaction[Any], original_id: int | None, text: str) -> None:
        """Say ``text`` to the user only, after a public ``defer(thinking=True)``."""
        try:
            original_id = original_id or (await interaction.original_response()).id
            await tell_privately(interaction.followup, original_id, text)
        except discord.HTTPException as exc:
            log.warning("discord.reply_failed", extra={"status": exc.status, "code": exc.code})

    async def _run(
        self,
        interaction: discord.Interaction[Any],
        kind: str,
        build: Callable[[], Awaitable[GenerationRequest]] | None,
        *,
        typed: str = "",
        personal: PersonalBuild | None = None,
    ) -> None:
        """Acknowledge, record the request, build it, then queue it for the person who clicked or typed.

        ``personal`` instead of ``build``: a typed command, built with the person's defaults.
        """
        with self.ctx.tasks.track():
            original_id = await self._defer(interaction)
            acknowledged = make_origin(
                interaction,
                kind=kind,
                prompt=typed,
                original_message_id=original_id,
                token_lifetime_s=self.ctx.token_lifetime_s,
            )

            async def origin(request: GenerationRequest) -> Mapping[str, Any]:
                message_id = original_id or (await interaction.original_response()).id
                return make_origin(
                    interaction,
                    kind=kind,
                    prompt=prompt_text(request),
                    original_message_id=message_id,
                    token_lifetime_s=self.ctx.token_lifetime_s,
                )

            requester = requester_of(interaction.user, interaction)
            if personal is not None:
                outcome = await self.ctx.intake.submit_typed(
                    requester, kind, build=personal, origin=origin, acknowledged=acknowledged
                )
            else:
                assert build is not None
                outcome = await self.ctx.intake.submit(
                    requester, kind, build=build, origin=origin, acknowledged=acknowledged
                )
            if isinstance(outcome, Refused):
                await self._tell(interaction, original_id, error_text(outcome.error, MARKUP))

    # ---------------------------------------------------------------- slash commands

    async def on_slash(
        self, spec: CommandSpec, interaction: discord.Interaction[Any], values: dict[str, Any]
    ) -> None:
        limits = self.ctx.limits()
        attachments = {k: v for k, v in values.items() if isinstance(v, discord.Attachment)}
        options = {
            k: v for k, v in values.items() if v is not None and k not in attachments and k != "prompt"
        }
        text = str(values.get("prompt") or "")
        try:  # no I/O in these: a typo is answered privately before anything public appears
            parse_invocation(Invocation(text=text, options=options), spec, limits)
            for name, attachment in attachments.items():
                self.ctx.attachments.check(attachment, limits, what=name)
        except EaselError as error:
            await self._refuse_at_once(interaction, spec.name, error)
            return

        async def build(defaults: Mapping[str, object]) -> Built:
            images = {
                name: await self.ctx.attachments.fetch(attachment, limits, what=name)
                for name, attachment in attachments.items()
            }
            inv = Invocation(text=text, options=options, images=images)
            return await build_with_defaults(spec, inv, defaults, limits)

        await self._run(interaction, spec.name, None, typed=text, personal=build)

    async def _refuse_at_once(
        self, interaction: discord.Interaction[Any], command: str, error: EaselError
    ) -> None:
        """The first and only answer, private: bad input never shows a public placeholder."""
        log.info(
            "discord.refused",
            extra={
                "command": command,
                "user": user_hash(f"discord:{interaction.user.id}"),
                "error_kind": type(error).__name__,
                "detail": error.log_detail,
                "before_ack": True,
            },
        )
        await interaction.response.send_message(
            error_text(error, MARKUP), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def on_quota(self, interaction: discord.Interaction[Any]) -> None:
        with self.ctx.tasks.track():
            await self._defer(interaction, ephemeral=True)
            try:
                text = quota_text(
                    await self.ctx.jobs.quota_status(requester_of(interaction.user, interaction)), MARKUP
                )
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": "quota"})
                text = error_text(EaselError(), MARKUP)
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

    async def on_history(self, interaction: discord.Interaction[Any]) -> None:
        """Only the person sees their history (ephemeral); a run-again button per job that can."""
        with self.ctx.tasks.track():
            await self._defer(interaction, ephemeral=True)
            try:
                records = await self.ctx.jobs.history(requester_of(interaction.user, interaction))
                embed, entries = history_embed(records, self.ctx.limits())
                view = history_view(entries)
                await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_MENTIONS)
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": "history"})
                await interaction.edit_original_response(
                    content=error_text(EaselError(), MARKUP), allowed_mentions=NO_MENTIONS
                )

    async def on_settings(
        self, spec: CommandSpec, interaction: discord.Interaction[Any], values: dict[str, Any]
    ) -> None:
        """Show, set or forget the person's defaults; a bad value is refused and nothing is stored."""
        with self.ctx.tasks.track():
            await self._defer(interaction, ephemeral=True)
            requester = requester_of(interaction.user, interaction)
            try:
                text = await settings_reply(self.ctx.intake.defaults, requester, values, self.ctx.limits())
            except EaselError as error:
                text = error_text(error, MARKUP)
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": "settings"})
                text = error_text(EaselError(), MARKUP)
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

    async def on_help(self, interaction: discord.Interaction[Any]) -> None:
        line = "\n".join(f"`/{e.command}` — {e.summary}" for e in command_overview(self.ctx.limits()))
        await interaction.response.send_message(
            embed=help_embed(line), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # ---------------------------------------------------------------- buttons

    async def on_button(self, interaction: discord.Interaction[Any], action: Action) -> None:
        if action.verb is Verb.DELETE:
            await self._delete(interaction, action)
        elif action.verb is Verb.REMIX:
            await self._open_remix(interaction, action)
        elif action.verb is Verb.REMIX_SUBMIT:  # a button forged with the modal's id
            await self._stale(interaction)
        elif action.verb is Verb.AGAIN:  # /history: the stored request again, its owner only
            requester = requester_of(interaction.user, interaction)
            await self._run(
                interaction,
                action.verb.command,
                lambda: run_again(self.ctx.jobs, action.job_id, requester, self.ctx.limits()),
            )
        else:
            await self._run(
                interaction, action.verb.command, lambda: followup(self.ctx.jobs, action, self.ctx.limits())
            )

    async def _delete(self, interaction: discord.Interaction[Any], action: Action) -> None:
        """Who may delete is the stored requester's business (or a moderator's), never the button's."""
        with self.ctx.tasks.track():
            await interaction.response.defer()  # acknowledges the click; @original is the result message
            moderator = is_discord_moderator(interaction, self.ctx.admin_role)
            by = requester_of(interaction.user, interaction)
            try:  # forget the job first: a button pressed while the post is being deleted finds it gone
                record = await self.ctx.jobs.delete(action.job_id, by=by, moderator=moderator)
                if record.requester.key != by.key:  # a moderator removed someone else's result
                    await AuditLog(self.ctx.jobs.db).record(
                        by, "delete", target=record.job_id, detail=record.requester.key
                    )
            except NotAllowed:
                text = not_allowed_to_delete(MARKUP, moderators=_MODERATORS)
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
                return
            except JobNotFound:
                pass
            try:
                await interaction.delete_original_response()
            except discord.NotFound:
                pass
            log.info(
                "discord.deleted",
                extra={"job_id": action.job_id, "user": user_hash(f"discord:{interaction.user.id}")},
            )

    async def _open_remix(self, interaction: discord.Interaction[Any], action: Action) -> None:
        rows = interaction.message.components if interaction.message else []
        buttons = [
            decode(str(getattr(c, "custom_id", ""))) for row in rows for c in getattr(row, "children", [])
        ]
        indices = [
            b.image for b in buttons if b is not None and b.verb is Verb.UPSCALE and b.job_id == action.job_id
        ]
        limits = self.ctx.limits()
        modal = remix_modal(
            action.job_id,
            action.image,
            prompt=prompt_from_embed(interaction.message),
            strength=float(limits.default_strength),
            indices=indices,
            prompt_max=int(limits.max_prompt_chars) * 2,
        )
        await interaction.response.send_modal(modal)

    async def _stale(self, interaction: discord.Interaction[Any]) -> None:
        log.info("discord.stale_component", extra={"user": user_hash(f"discord:{interaction.user.id}")})
        text = f"{MARKUP.icons[Icon.WARNING]} {STALE_BUTTON}"
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # ---------------------------------------------------------------- the remix modal

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Every interaction passes here. Modal submits are read from the raw interaction (works for
        modals opened before a restart); buttons are routed by discord.py to ``ResultButton``,
        except ``easel:`` ids that do not decode, which would otherwise fail without a word."""
        if not interaction.data:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        if interaction.type is discord.InteractionType.modal_submit:
            action = decode(custom_id)
            if action is not None and action.verb is Verb.REMIX_SUBMIT:
                await self._remix_submit(interaction, action)
            elif custom_id.startswith("easel:"):
                await self._stale(interaction)
        elif interaction.type is discord.InteractionType.component and is_stale(custom_id):
            await self._stale(interaction)

    async def _remix_submit(self, interaction: discord.Interaction[Any], action: Action) -> None:
        fields = modal_values(interaction.data or {})

        async def build() -> GenerationRequest:
            index = image_number(fields.get("image", ""), action.image)
            return await remix(
                self.ctx.jobs,
                action.job_id,
                index,
                prompt=fields.get("prompt", ""),
                strength=fields.get("strength", ""),
                limits=self.ctx.limits(),
            )

        await self._run(interaction, "remix", build)
