"""What happens when someone uses a slash command, a button or the remix modal.

Every handler acknowledges first — ``defer``, a modal, or an answer computed without I/O —
and only then downloads, validates, reads SQLite or queues. Errors (bad options, quota,
unknown jobs, bad attachments) are shown only to the person who caused them and spend nothing:
quota is reserved by ``jobs.submit`` only after the request is valid.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.discord.components import (
    ButtonAction,
    is_stale_custom_id,
    modal_values,
    parse_modal_custom_id,
    remix_modal,
)
from bot.discord.render import NO_MENTIONS, error_text, help_embed, prompt_from_embed, prompt_text, quota_text
from bot.discord.sink import make_origin
from commands import COMMANDS, CommandSpec, Invocation
from commands.help import command_overview
from commands.remix import VARY_STRENGTH
from services.backends.base import BackendLimits
from services.errors import EaselError, InvalidRequest, JobNotFound
from services.jobs import JobService, user_hash
from services.types import GenerationRequest, Operation, Requester, SourceRef

if TYPE_CHECKING:
    from bot.discord.frontend import DiscordFrontend

__all__ = ["STALE_BUTTON_TEXT", "VARY_STRENGTH", "DiscordHandlers"]

log = logging.getLogger(__name__)

"""How much of the source a variation keeps: close to the original, visibly different."""

_OPERATION_COMMAND = {
    Operation.IMAGINE: "imagine",
    Operation.REMIX: "remix",
    Operation.INPAINT: "inpaint",
    Operation.UPSCALE: "upscale",
}

STALE_BUTTON_TEXT = "⚠️ I don't recognise that button any more. Please run the command again."


def requester_of(user: discord.User | discord.Member) -> Requester:
    return Requester(platform="discord", user_id=str(user.id), display_name=user.display_name)


class DiscordHandlers:
    """The interaction handlers of one :class:`bot.discord.frontend.DiscordFrontend`."""

    def __init__(self, frontend: DiscordFrontend) -> None:
        self.fe = frontend
        self._active: set[asyncio.Task[Any]] = set()

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        """Remember the running handler so :meth:`drain` can let it finish on shutdown."""
        task = asyncio.current_task()
        if task is not None:
            self._active.add(task)
        try:
            yield
        finally:
            if task is not None:
                self._active.discard(task)

    async def drain(self, timeout_s: float) -> None:
        """Wait (bounded) for handlers in progress, so their replies go out before the client closes."""
        if self._active:
            await asyncio.wait(set(self._active), timeout=timeout_s)

    @property
    def jobs(self) -> JobService:
        return self.fe.services.jobs

    @property
    def limits(self) -> BackendLimits:
        return self.fe.services.backend.limits

    # ---------------------------------------------------------------- replies

    async def _defer(self, interaction: discord.Interaction[Any], *, ephemeral: bool = False) -> int | None:
        """Acknowledge with a loading message; returns its message id."""
        response = await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        return response.message_id if response is not None else None

    async def _tell(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Say ``text`` to the user only, after a public ``defer(thinking=True)``.

        The first follow-up after a deferral replaces the loading message and keeps its public
        visibility, so the placeholder is edited, the ephemeral note sent, then the placeholder deleted.
        """
        try:
            await interaction.edit_original_response(content="…", allowed_mentions=NO_MENTIONS)
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            await interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.warning("discord.reply_failed", extra={"status": exc.status, "code": exc.code})

    async def _fail(self, interaction: discord.Interaction[Any], error: EaselError, command: str) -> None:
        log.info(
            "discord.refused",
            extra={
                "command": command,
                "user": user_hash(f"discord:{interaction.user.id}"),
                "error_kind": type(error).__name__,
                "detail": error.log_detail,
            },
        )
        await self._tell(interaction, error_text(error))

    async def _run(
        self,
        interaction: discord.Interaction[Any],
        *,
        kind: str,
        original_id: int | None,
        build: Callable[[], Awaitable[GenerationRequest]],
    ) -> None:
        """Build the request, then queue it for the person who clicked or typed."""
        try:
            request = await build()
            if original_id is None:
                original_id = (await interaction.original_response()).id
            origin = make_origin(
                interaction,
                kind=kind,
                prompt=prompt_text(request),
                original_message_id=original_id,
                token_lifetime_s=self.fe.token_lifetime_s,
            )
            submitted = await self.jobs.submit(requester_of(interaction.user), request, origin=origin)
        except EaselError as error:
            await self._fail(interaction, error, kind)
            return
        except Exception:
            log.exception("discord.handler_crashed", extra={"command": kind})
            await self._tell(interaction, error_text(EaselError()))
            return
        log.info(
            "discord.submitted",
            extra={
                "job_id": submitted.job_id,
                "command": kind,
                "user": user_hash(f"discord:{interaction.user.id}"),
                "position": submitted.position,
            },
        )

    # ---------------------------------------------------------------- slash commands

    async def on_slash(
        self, spec: CommandSpec, interaction: discord.Interaction[Any], values: dict[str, Any]
    ) -> None:
        original_id = await self._defer(interaction)

        async def build() -> GenerationRequest:
            limits = self.limits
            images: dict[str, bytes] = {}
            attachments = {k: v for k, v in values.items() if isinstance(v, discord.Attachment)}
            for name, attachment in attachments.items():  # cheap checks for all before any download
                self.fe.attachments.check(attachment, limits, what=name)
            for name, attachment in attachments.items():
                images[name] = await self.fe.attachments.fetch(attachment, limits, what=name)
            options = {
                k: v for k, v in values.items() if v is not None and k not in attachments and k != "prompt"
            }
            text = str(values.get("prompt") or "")
            return await spec.build(Invocation(text=text, options=options, images=images), limits)

        await self._run(interaction, kind=spec.name, original_id=original_id, build=build)

    async def on_quota(self, interaction: discord.Interaction[Any]) -> None:
        with self._tracked():
            await self._quota(interaction)

    async def _quota(self, interaction: discord.Interaction[Any]) -> None:
        await self._defer(interaction, ephemeral=True)
        try:
            text = quota_text(await self.jobs.quota_status(requester_of(interaction.user)))
        except Exception:
            log.exception("discord.handler_crashed", extra={"command": "quota"})
            text = error_text(EaselError())
        await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

    async def on_help(self, interaction: discord.Interaction[Any]) -> None:
        line = "\n".join(f"`/{e.command}` — {e.summary}" for e in command_overview(self.limits))
        await interaction.response.send_message(
            embed=help_embed(line), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    # ---------------------------------------------------------------- buttons

    async def on_button(self, interaction: discord.Interaction[Any], action: ButtonAction) -> None:
        with self._tracked():
            if action.verb == "d":
                await self._delete(interaction, action)
            elif action.verb == "m":
                await self._open_remix(interaction, action)
            elif action.verb == "i":
                await self._imagine_text(interaction, action)
            else:
                await self._button_job(interaction, action)

    async def _button_job(self, interaction: discord.Interaction[Any], action: ButtonAction) -> None:
        original_id = await self._defer(interaction)
        kind = {"u": "upscale", "v": "variation", "r": "reroll"}[action.verb]
        index = action.arg or 0

        async def build() -> GenerationRequest:
            limits = self.limits
            record = await self.jobs.get_job(action.job_id)
            if record.deleted or record.request is None:
                raise JobNotFound()
            if action.verb == "r":
                command = _OPERATION_COMMAND.get(record.request.operation)
                if command is not None:
                    COMMANDS[command].check_available(limits)
                return replace(record.request, seed=None)
            original = await self.jobs.load_original(action.job_id, index)
            ref = SourceRef(action.job_id, index)
            if action.verb == "u":
                return await COMMANDS["upscale"].build(Invocation(source_image=original, source=ref), limits)
            options: dict[str, object] = {"strength": VARY_STRENGTH}
            if record.request.style_preset:
                options["style"] = record.request.style_preset
            inv = Invocation(
                text=prompt_text(record.request), options=options, source_image=original, source=ref
            )
            return await COMMANDS["remix"].build(inv, limits)

        await self._run(interaction, kind=kind, original_id=original_id, build=build)

    async def _imagine_text(self, interaction: discord.Interaction[Any], action: ButtonAction) -> None:
        """🎨 under a /describe result: /imagine its text, for (and paid by) whoever pressed it."""
        original_id = await self._defer(interaction)

        async def build() -> GenerationRequest:
            record = await self.jobs.get_job(action.job_id)
            if record.deleted or not record.text:
                raise JobNotFound()
            limits = self.limits
            text = record.text.strip()[: int(limits.max_prompt_chars)]
            return await COMMANDS["imagine"].build(Invocation(text=text), limits)

        await self._run(interaction, kind="imagine", original_id=original_id, build=build)

    async def _delete(self, interaction: discord.Interaction[Any], action: ButtonAction) -> None:
        allowed = interaction.user.id == action.arg or interaction.permissions.manage_messages
        if not allowed:
            await interaction.response.send_message(
                "🗑 Only the person who asked for these images, or members who can manage messages, can delete them.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        await interaction.response.defer()  # acknowledges the click; @original is the result message
        try:  # forget the job first: a button pressed while the post is being deleted finds it gone
            await self.jobs.mark_deleted(action.job_id)
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

    async def _open_remix(self, interaction: discord.Interaction[Any], action: ButtonAction) -> None:
        indices = [
            int(c.custom_id.rsplit(":", 1)[1])
            for row in (interaction.message.components if interaction.message else [])
            for c in getattr(row, "children", [])
            if isinstance(getattr(c, "custom_id", None), str)
            and c.custom_id.startswith(f"easel:u:{action.job_id}:")
        ]
        modal = remix_modal(
            action.job_id,
            action.arg or 0,
            prompt=prompt_from_embed(interaction.message),
            strength=float(self.limits.default_strength),
            indices=indices,
            prompt_max=int(self.limits.max_prompt_chars) * 2,
        )
        await interaction.response.send_modal(modal)

    # ---------------------------------------------------------------- the remix modal

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Every interaction passes here. Modal submits are read from the raw interaction (works for
        modals opened before a restart); buttons are routed by discord.py to :class:`ResultButton`,
        except ``easel:`` ids no template matches, which would otherwise fail without a word."""
        if not interaction.data:
            return
        custom_id = str(interaction.data.get("custom_id", ""))
        modal = interaction.type is discord.InteractionType.modal_submit
        if modal:
            parsed = parse_modal_custom_id(custom_id)
            if parsed is not None:
                with self._tracked():
                    await self._remix_submit(interaction, parsed)
                return
        elif interaction.type is not discord.InteractionType.component:
            return
        if is_stale_custom_id(custom_id, modal=modal):
            log.info("discord.stale_component", extra={"user": user_hash(f"discord:{interaction.user.id}")})
            await interaction.response.send_message(
                STALE_BUTTON_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    async def _remix_submit(self, interaction: discord.Interaction[Any], parsed: tuple[str, int]) -> None:
        original_id = await self._defer(interaction)
        job_id, default_index = parsed
        fields = modal_values(interaction.data or {})

        async def build() -> GenerationRequest:
            index = default_index
            if fields.get("image", "").strip():
                try:
                    index = int(fields["image"].strip()) - 1
                except ValueError:
                    raise InvalidRequest("“Which image” needs a number, like 1.") from None
                if index < 0:
                    raise InvalidRequest("“Which image” needs a number from 1 up.")
            record = await self.jobs.get_job(job_id)
            if record.deleted:
                raise JobNotFound()
            original = await self.jobs.load_original(job_id, index)
            options: dict[str, object] = {}
            if fields.get("strength", "").strip():
                options["strength"] = fields["strength"].strip()
            inv = Invocation(
                text=fields.get("prompt", ""),
                options=options,
                source_image=original,
                source=SourceRef(job_id, index),
            )
            return await COMMANDS["remix"].build(inv, self.limits)

        await self._run(interaction, kind="remix", original_id=original_id, build=build)
