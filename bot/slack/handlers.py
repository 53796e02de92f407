"""bolt listeners: slash commands, buttons, modals and the message shortcut.

Each listener calls ``ack()`` and returns at once, handing every Web API call, database read and
download to a background task: the app runs with ``process_before_response=True``, so the HTTP
answer leaves as soon as the listener returns (no polling for the ack), far inside Slack's
3-second deadline. Platform payloads stop here: what goes below is an :class:`Invocation`, a
:class:`Requester` and the job's ``origin`` (what the sink needs to answer, even after a restart).
Follow-ups are built by :mod:`commands.followups` and queued through :class:`services.intake.Intake`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bot.slack.admin import MODERATORS, moderator_delete, slack_admin
from bot.slack.context import SlackContext
from bot.slack.help import help_blocks
from bot.slack.modals import (
    MODAL_CALLBACK,
    PICK_ACTION,
    FormValues,
    ModalContext,
    command_modal,
    message_modal,
    pick_modal,
    read_submission,
)
from bot.slack.models import answer_models
from bot.slack.mrkdwn import MARKUP
from bot.slack.removal import remove_result
from bot.slack.status import StatusMode, StatusTarget
from commands import COMMANDS, Invocation, picture_commands
from commands.actions import ACTION_RE, Action, Verb, decode
from commands.errors import OptionError
from commands.flags import resolve
from commands.followups import followup, load_source, stored_request
from commands.history import run_again
from commands.info import QUOTA
from commands.prompts import prompt_text
from commands.replies import (
    NO_PICTURE,
    NO_PICTURE_COMMANDS,
    error_text,
    not_allowed_to_delete,
    parse_result_filename,
    quota_text,
)
from commands.settings import build_with_defaults
from commands.spec import CommandSpec
from services.downloads import looks_like_image
from services.errors import EaselError, InvalidRequest, JobNotFound, NotAllowed
from services.intake import Built, PersonalBuild, Refused
from services.types import GenerationRequest, Requester, Venue

__all__ = ["IMAGE_COMMANDS", "SHORTCUT_CALLBACK", "SlackHandlers", "register_handlers"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]

#: Every command of ``commands/`` is a Slack slash command of the same name.
IMAGE_COMMANDS: tuple[str, ...] = tuple(COMMANDS)
SHORTCUT_CALLBACK = "easel_image"


@dataclass(frozen=True)
class Caller:
    """Who did something, where, and where their private status goes."""

    requester: Requester
    team: str
    target: StatusTarget
    trigger: str


def _caller(body: Mapping[str, Any], channel: str, mode: StatusMode, **target: Any) -> Caller:
    """The caller of an interaction payload (button, modal, shortcut: ``body["user"]``)."""
    user = body.get("user") or {}
    user_id = str(user.get("id", ""))
    team = str((body.get("team") or {}).get("id", ""))
    return Caller(
        requester=Requester(
            "slack",
            user_id,
            display_name=str(user.get("name", "")),
            venue=Venue(server_id=team, channel_id=channel),
        ),
        team=team,
        target=StatusTarget(channel=channel, user=user_id, mode=mode, **target),
        trigger=str(body.get("trigger_id", "")),
    )


def _command_caller(body: Mapping[str, Any]) -> Caller:
    """The caller of a slash command payload (flat ``user_id``, ``channel_id``)."""
    user = {"id": body.get("user_id", ""), "name": body.get("user_name", "")}
    payload = {**body, "user": user, "team": {"id": body.get("team_id", "")}}
    return _caller(payload, str(body.get("channel_id", "")), "replace", response_url=body.get("response_url"))


class SlackHandlers:
    """The listeners of one Slack front end."""

    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx
        self.jobs = ctx.jobs
        # ``/easel <word> …`` for commands whose listeners live in their own modules (history, settings)
        self.words: dict[str, Callable[[Ack, dict[str, Any]], Awaitable[None]]] = {}

    async def _tell(self, caller: Caller, text: str) -> None:
        """A private one-off message to the caller (errors, quota, refusals)."""
        await self.ctx.status(caller.target).final(text)

    async def submit(
        self,
        caller: Caller,
        command: str,
        build: Callable[[], Awaitable[GenerationRequest]] | None,
        *,
        personal: PersonalBuild | None = None,
    ) -> None:
        """Build the request and queue the job; every refusal is a private message, nothing spent.

        ``personal`` instead of ``build``: a typed command, built with the person's defaults.
        """

        where = {
            "platform": "slack",
            "team": caller.team,
            "command": command,
            "trigger": caller.trigger,
            **caller.target.to_origin(),
        }

        async def origin(request: GenerationRequest) -> Mapping[str, Any]:
            return where

        # ``acknowledged``: stored before the build (downloads!), so a restart tells the person.
        requester = await self._with_groups(caller.requester)
        if personal is not None:
            outcome = await self.ctx.intake.submit_typed(
                requester, command, build=personal, origin=origin, acknowledged=where
            )
        else:
            assert build is not None
            outcome = await self.ctx.intake.submit(
                requester, command, build=build, origin=origin, acknowledged=where
            )
        if isinstance(outcome, Refused):
            await self._tell(caller, error_text(outcome.error, MARKUP))

    async def _download(self, file: Mapping[str, Any], what: str) -> bytes:
        if not (file.get("url_private") or file.get("url_private_download")) and file.get("id"):
            try:
                info = await self.ctx.client.files_info(file=str(file["id"]))
            except SlackApiError as exc:
                raise InvalidRequest(f"I can't open that {what}; is it shared in a channel I'm in?") from exc
            file = info.get("file") or {}
        return await self.ctx.files().download(file, max_bytes=self.ctx.limits().max_input_bytes, what=what)

    # ------------------------------------------------------------------ slash commands

    async def on_image_command(self, ack: Ack, body: dict[str, Any]) -> None:
        command = str(body.get("command", "")).lstrip("/").lower()
        await self._image_command(ack, body, command, str(body.get("text", "")))

    async def _image_command(self, ack: Ack, body: dict[str, Any], command: str, text: str) -> None:
        spec, limits = COMMANDS[command], self.ctx.limits()
        try:
            spec.check_available(limits)
        except EaselError as err:
            await ack(response_type="ephemeral", text=error_text(err, MARKUP))
            return
        await ack()
        caller = _command_caller(body)
        if not spec.needs_images and text.strip():
            inv = Invocation(text=text)

            async def typed(defaults: Mapping[str, object]) -> Built:
                return await build_with_defaults(spec, inv, defaults, self.ctx.limits())

            self.ctx.tasks.spawn(self.submit(caller, command, None, personal=typed), name=command)
            return
        target = caller.target
        context = ModalContext(
            command=command, channel=target.channel, response_url=target.response_url, mode="replace"
        )
        self._open_view(caller, command_modal(spec, limits, context, prefill=text))

    def _open_view(self, caller: Caller, view: dict[str, Any]) -> None:
        """Open a modal right after the ack (trigger ids expire 3 s after the user's action)."""
        self.ctx.tasks.spawn(self._views_open(caller, view), name="views.open")

    async def _views_open(self, caller: Caller, view: dict[str, Any]) -> None:
        try:
            await self.ctx.client.views_open(trigger_id=caller.trigger, view=view)
        except SlackApiError as exc:
            log.warning("slack.views_open_failed", extra={"error": exc.response.get("error")})
            await self._tell(caller, ":warning: I couldn't open the form. Please try the command again.")

    async def on_quota(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        self.ctx.tasks.spawn(self._quota(_command_caller(body)), name="quota")

    async def _quota(self, caller: Caller) -> None:
        status = await self.jobs.quota_status(await self._with_groups(caller.requester))
        await self._tell(caller, quota_text(status, MARKUP))

    async def _with_groups(self, requester: Requester) -> Requester:
        """The person's user groups count as their roles for this workspace's role overrides."""
        if self.ctx.admins is None:
            return requester
        return await self.ctx.admins.groups.with_groups(requester, self.jobs.quota.budgets)

    async def on_easel(self, ack: Ack, body: dict[str, Any]) -> None:
        """``/easel help [command]``, ``/easel quota``, ``/easel models``, ``/easel imagine …`` (when /imagine is taken)."""
        word, _, rest = str(body.get("text", "")).strip().partition(" ")
        word = word.lower().lstrip("/")
        if word in IMAGE_COMMANDS:
            await self._image_command(ack, body, word, rest)
        elif word == "quota":
            await self.on_quota(ack, body)
        elif word == "models" and self.ctx.models is not None:
            await ack()
            self.ctx.tasks.spawn(answer_models(self.ctx, self.ctx.models, body, rest), name="models")
        elif word in self.words:
            await self.words[word](ack, {**body, "text": rest})
        elif word == "admin":
            await ack()
            self.ctx.tasks.spawn(self._admin(_command_caller(body), rest), name="admin")
        else:
            topic = rest.strip().lstrip("/").lower() if word == "help" else ""
            await ack(
                response_type="ephemeral", text="easel help", blocks=help_blocks(self.ctx.limits(), topic)
            )

    async def _admin(self, caller: Caller, text: str) -> None:
        if self.ctx.admins is None:
            await self._tell(caller, "Admin commands are not available here.")
            return
        await self._tell(caller, await slack_admin(self.ctx.admins, self.jobs, caller.requester, text))

    # ------------------------------------------------------------------ buttons on results

    async def on_button(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        parsed = decode(str(action.get("action_id", "")))
        await ack()
        if parsed is None or parsed.verb is Verb.REMIX_SUBMIT:
            return
        container = body.get("container") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
        thread_ts = (body.get("message") or {}).get("thread_ts")
        caller = _caller(body, channel, "append", response_url=body.get("response_url"), thread_ts=thread_ts)
        if parsed.verb is Verb.REMIX:
            self.ctx.tasks.spawn(self._open_remix_modal(caller, parsed), name="button:m")
        elif parsed.verb is Verb.DELETE:
            self.ctx.tasks.spawn(self._delete(caller, parsed, action, body), name="button:d")
        elif parsed.verb is Verb.AGAIN:  # /history: the stored request again, its owner only
            again = lambda: run_again(self.jobs, parsed.job_id, caller.requester, self.ctx.limits())  # noqa: E731
            self.ctx.tasks.spawn(self.submit(caller, parsed.verb.command, again), name="button:a")
        else:
            build = lambda: followup(self.jobs, parsed, self.ctx.limits())  # noqa: E731
            self.ctx.tasks.spawn(
                self.submit(caller, parsed.verb.command, build), name=f"button:{parsed.verb.value}"
            )

    async def _open_remix_modal(self, caller: Caller, action: Action) -> None:
        try:
            request = await stored_request(self.jobs, action.job_id, action.image)
        except EaselError as err:
            await self._tell(caller, error_text(err, MARKUP))
            return
        target = caller.target
        context = ModalContext(
            command="remix",
            channel=target.channel,
            response_url=target.response_url,
            mode="append",
            thread_ts=target.thread_ts,
            source=f"{action.job_id}:{action.image}",
            file={"name": f"image #{action.image + 1} of that result"},
        )
        view = command_modal(
            COMMANDS["remix"], self.ctx.limits(), context, prefill=prompt_text(request), image_given=True
        )
        self._open_view(caller, view)

    async def _delete(
        self, caller: Caller, action: Action, pressed: Mapping[str, Any], body: dict[str, Any]
    ) -> None:
        """The card and its images. The stored requester may delete, and so may easel's admins
        (:func:`bot.slack.admin.moderator_delete`)."""
        try:  # forgets the job first, so a button pressed while the message goes finds it gone
            await self.jobs.delete(action.job_id, by=caller.requester)
        except NotAllowed:
            try:
                allowed = await moderator_delete(self.ctx.admins, self.jobs, caller.requester, action.job_id)
            except JobNotFound as err:  # deleted meanwhile
                await self._tell(caller, error_text(err, MARKUP))
                return
            if not allowed:
                await self._tell(caller, not_allowed_to_delete(MARKUP, moderators=MODERATORS))
                return
        except JobNotFound as err:
            await self._tell(caller, error_text(err, MARKUP))
            return
        await remove_result(self.ctx.client, pressed, body)
        log.info("slack.result_deleted", extra={"job_id": action.job_id})

    # ------------------------------------------------------------------ modals

    async def on_pick(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The shortcut's chooser: swap the modal for the chosen command's form."""
        await ack()
        view = body.get("view") or {}
        spec = COMMANDS.get(str(action.get("value", "")))
        if spec is None:
            return
        context = replace(ModalContext.load(str(view.get("private_metadata", ""))), command=spec.name)
        form = command_modal(spec, self.ctx.limits(), context, image_given=True)
        self.ctx.tasks.spawn(
            self._views_update(str(view.get("id")), view.get("hash"), form), name="views.update"
        )

    async def _views_update(self, view_id: str, view_hash: str | None, form: dict[str, Any]) -> None:
        try:
            await self.ctx.client.views_update(view_id=view_id, hash=view_hash, view=form)
        except SlackApiError as exc:
            log.warning("slack.views_update_failed", extra={"error": exc.response.get("error")})

    async def on_modal_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = ModalContext.load(str(view.get("private_metadata", "")))
        spec = COMMANDS.get(context.command)
        if spec is None:
            await ack()
            return
        form = read_submission((view.get("state") or {}).get("values") or {}, spec)
        mode: StatusMode = "replace" if context.mode == "replace" else "append"
        target = {"response_url": context.response_url, "thread_ts": context.thread_ts}
        caller = _caller(body, context.channel, mode, **target)
        try:
            resolve(
                Invocation(text=form.text, options=form.options), spec, self.ctx.limits()
            )  # pure, fast, no I/O
        except OptionError as err:
            block = _error_block(view, err.option)
            if block is not None:
                await ack(response_action="errors", errors={block: err.user_message[:150]})
                return
            await ack()
            self.ctx.tasks.spawn(self._tell(caller, error_text(err, MARKUP)), name="modal:error")
            return
        except InvalidRequest:
            pass  # build() below reports it
        await ack()
        self.ctx.tasks.spawn(self._modal_job(caller, spec, context, form), name=f"modal:{spec.name}")

    async def _modal_job(
        self, caller: Caller, spec: CommandSpec, context: ModalContext, form: FormValues
    ) -> None:
        async def build(defaults: Mapping[str, object]) -> Built:
            images: dict[str, bytes] = {}
            source_image = source = None
            if context.source:
                job_id, _, index = context.source.rpartition(":")
                source_image, source = await load_source(self.jobs, job_id, int(index))
            elif context.file:
                images["image"] = await self._download(context.file, "image")
            for name, files in form.files.items():
                images[name] = await self._download(files[0], name)
            inv = Invocation(
                text=form.text, options=form.options, images=images, source_image=source_image, source=source
            )
            return await build_with_defaults(spec, inv, defaults, self.ctx.limits())

        await self.submit(caller, spec.name, None, personal=build)

    # ------------------------------------------------------------------ message shortcut

    async def on_shortcut(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id", ""))
        thread_ts = message.get("thread_ts")
        caller = _caller(body, channel, "append", response_url=body.get("response_url"), thread_ts=thread_ts)
        files = message.get("files") or []
        images = [f for f in files if looks_like_image(str(f.get("mimetype", "")), str(f.get("name", "")))]
        choices = picture_commands(self.ctx.limits())
        if not images or not choices:
            title, text = (
                ("No picture found", NO_PICTURE) if not images else ("Not available", NO_PICTURE_COMMANDS)
            )
            self._open_view(caller, message_modal(title, text))
            return
        context = ModalContext(
            command="",
            channel=channel,
            response_url=body.get("response_url"),
            mode="append",
            thread_ts=thread_ts,
            file=images[0],
            source=self._own_original(images[0]),
        )
        self._open_view(caller, pick_modal(context, choices))

    def _own_original(self, file: Mapping[str, Any]) -> str | None:
        """``"<job>:<index>"`` when the file is one of easel's results (start from the clean original)."""
        bot_user = self.ctx.bot_user_id()
        ref = parse_result_filename(str(file.get("name", "")))
        if bot_user is None or file.get("user") != bot_user or ref is None:
            return None
        return f"{ref.job_id}:{ref.index}"


def _error_block(view: Mapping[str, Any], option: str | None) -> str | None:
    """The input block to show an error under: the option's own, else the prompt's."""
    blocks = {b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"}
    return next((f"opt:{name}" for name in (option, "prompt") if name and f"opt:{name}" in blocks), None)


def register_handlers(app: AsyncApp, ctx: SlackContext) -> SlackHandlers:
    handlers = SlackHandlers(ctx)
    for name in IMAGE_COMMANDS:
        app.command(f"/{name}")(handlers.on_image_command)
    app.command(f"/{QUOTA.name}")(handlers.on_quota)
    app.command("/easel")(handlers.on_easel)
    app.action(ACTION_RE)(handlers.on_button)
    app.action(re.compile(rf"^{PICK_ACTION}:"))(handlers.on_pick)
    app.view(MODAL_CALLBACK)(handlers.on_modal_submit)
    app.shortcut(SHORTCUT_CALLBACK)(handlers.on_shortcut)
    return handlers
