"""bolt listeners: slash commands, buttons, modals and the message shortcut.

Each listener calls ``ack()`` and returns at once, handing every Web API call, database read and
download to a background task: the app runs with ``process_before_response=True``, so the HTTP
answer leaves as soon as the listener returns (no polling for the ack), far inside Slack's
3-second deadline. Platform payloads stop here: what goes below is an :class:`Invocation`, a
:class:`Requester` and the job's ``origin`` (what the sink needs to answer, even after a restart).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.slack.blocks import ACTION_RE, ButtonAction, parse_action_id
from bot.slack.help import help_blocks, quota_text
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
from bot.slack.replies import error_text
from bot.slack.status import StatusTarget
from commands import COMMANDS, Invocation
from commands.errors import OptionError
from commands.flags import resolve
from commands.info import QUOTA
from commands.prompts import prompt_text
from commands.remix import VARY_STRENGTH
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.errors import EaselError, InvalidRequest, JobNotFound
from services.jobs import JobRecord
from services.types import GenerationRequest, InputImage, Operation, Requester, SourceRef

if TYPE_CHECKING:
    from bot.slack.frontend import SlackFrontend

__all__ = ["IMAGE_COMMANDS", "SHORTCUT_CALLBACK", "SlackHandlers", "register_handlers"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]

#: Every command of ``commands/`` is a Slack slash command of the same name.
IMAGE_COMMANDS: tuple[str, ...] = tuple(COMMANDS)
SHORTCUT_CALLBACK = "easel_image"
#: What the message shortcut offers for a picture: every command that takes an image.
SHORTCUT_COMMANDS: tuple[str, ...] = tuple(
    name for name, spec in COMMANDS.items() if "image" in spec.needs_images
)
#: How much of the picture a "Vary" keeps (Stability's image_strength): a close variation.
_EASEL_FILE_RE = re.compile(r"^easel-(?P<job>[A-Za-z0-9_-]{1,64})-(?P<n>\d{1,3})\.(png|jpg|jpeg|webp)$")


@dataclass(frozen=True)
class Caller:
    """Who did something, where, and where their private status goes."""

    requester: Requester
    team: str
    target: StatusTarget
    trigger: str


def _warning(err: EaselError) -> str:
    return error_text(err)


class SlackHandlers:
    """The listeners of one :class:`SlackFrontend`."""

    def __init__(self, fe: SlackFrontend) -> None:
        self.fe = fe
        self.jobs = fe.services.jobs

    @property
    def limits(self) -> BackendLimits:
        return self.fe.services.backend.limits

    # ------------------------------------------------------------------ callers

    @staticmethod
    def _command_caller(body: Mapping[str, Any]) -> Caller:
        user = str(body.get("user_id", ""))
        return Caller(
            requester=Requester("slack", user, display_name=str(body.get("user_name", ""))),
            team=str(body.get("team_id", "")),
            target=StatusTarget(
                channel=str(body.get("channel_id", "")),
                user=user,
                response_url=body.get("response_url"),
                mode="replace",
            ),
            trigger=str(body.get("trigger_id", "")),
        )

    @staticmethod
    def _interaction_caller(body: Mapping[str, Any], *, channel: str, thread_ts: str | None = None) -> Caller:
        user = body.get("user") or {}
        return Caller(
            requester=Requester("slack", str(user.get("id", "")), display_name=str(user.get("name", ""))),
            team=str((body.get("team") or {}).get("id", "")),
            target=StatusTarget(
                channel=channel,
                user=str(user.get("id", "")),
                response_url=body.get("response_url"),
                mode="append",
                thread_ts=thread_ts,
            ),
            trigger=str(body.get("trigger_id", "")),
        )

    async def _tell(self, caller: Caller, text: str) -> None:
        """A private one-off message to the caller (errors, quota, refusals)."""
        await self.fe.updater_for(None, caller.target).final(text)

    # ------------------------------------------------------------------ job submission

    async def submit(
        self,
        caller: Caller,
        command: str,
        build: Callable[[], Awaitable[GenerationRequest]],
    ) -> None:
        """Build the request and queue the job; every refusal is a private message, nothing spent."""
        try:
            request = await build()
            origin = {
                "platform": "slack",
                "team": caller.team,
                "command": command,
                "trigger": caller.trigger,
                **caller.target.to_origin(),
            }
            submitted = await self.jobs.submit(caller.requester, request, origin=origin)
        except EaselError as err:
            log.info(
                "slack.request_refused",
                extra={"command": command, "error": type(err).__name__, "detail": err.log_detail},
            )
            await self._tell(caller, _warning(err))
            return
        except Exception:  # a bug or an unexpected failure below: still answer, and keep serving
            log.exception("slack.handler_crashed", extra={"command": command})
            await self._tell(caller, _warning(EaselError()))
            return
        log.info("slack.job_submitted", extra={"job_id": submitted.job_id, "command": command})

    async def _download(self, file: Mapping[str, Any], what: str) -> bytes:
        if not (file.get("url_private") or file.get("url_private_download")) and file.get("id"):
            try:
                info = await self.fe.client.files_info(file=str(file["id"]))
            except SlackApiError as exc:
                raise InvalidRequest(f"I can't open that {what}; is it shared in a channel I'm in?") from exc
            file = info.get("file") or {}
        return await self.fe.files.download(file, max_bytes=self.limits.max_input_bytes, what=what)

    async def _source(self, source: str) -> tuple[InputImage, SourceRef]:
        job_id, _, index = source.rpartition(":")
        ref = SourceRef(job_id, int(index))
        return await self.jobs.load_original(job_id, ref.index), ref

    # ------------------------------------------------------------------ slash commands

    async def on_image_command(self, ack: Ack, body: dict[str, Any]) -> None:
        command = str(body.get("command", "")).lstrip("/").lower()
        await self._image_command(ack, body, command, str(body.get("text", "")))

    async def _image_command(self, ack: Ack, body: dict[str, Any], command: str, text: str) -> None:
        spec = COMMANDS[command]
        if not spec.available_on(self.limits):
            await ack(
                response_type="ephemeral", text=f":warning: /{command} isn't available on this backend."
            )
            return
        caller = self._command_caller(body)
        if not spec.needs_images and text.strip():
            await ack()
            inv = Invocation(text=text)
            self.fe.spawn(self.submit(caller, command, lambda: spec.build(inv, self.limits)), what=command)
            return
        await ack()
        context = ModalContext(
            command=command,
            channel=caller.target.channel,
            response_url=caller.target.response_url,
            mode="replace",
        )
        self._open_view(
            caller, str(body.get("trigger_id", "")), command_modal(spec, self.limits, context, prefill=text)
        )

    def _open_view(self, caller: Caller, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal right after the ack (trigger ids expire 3 s after the user's action)."""
        self.fe.spawn(self._views_open(caller, trigger_id, view), what="views.open")

    async def _views_open(self, caller: Caller, trigger_id: str, view: dict[str, Any]) -> None:
        try:
            await self.fe.client.views_open(trigger_id=trigger_id, view=view)
        except SlackApiError as exc:
            log.warning("slack.views_open_failed", extra={"error": exc.response.get("error")})
            await self._tell(caller, ":warning: I couldn't open the form. Please try the command again.")

    async def on_quota(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        self.fe.spawn(self._quota(self._command_caller(body)), what="quota")

    async def _quota(self, caller: Caller) -> None:
        status = await self.jobs.quota_status(caller.requester)
        await self._tell(caller, quota_text(status))

    async def on_easel(self, ack: Ack, body: dict[str, Any]) -> None:
        """``/easel help [command]``, ``/easel quota``, ``/easel imagine …`` (when /imagine is taken)."""
        word, _, rest = str(body.get("text", "")).strip().partition(" ")
        word = word.lower().lstrip("/")
        if word in IMAGE_COMMANDS:
            await self._image_command(ack, body, word, rest)
        elif word == "quota":
            await self.on_quota(ack, body)
        else:
            topic = rest.strip().lstrip("/").lower() if word == "help" else ""
            blocks = help_blocks(self.limits, topic)
            await ack(response_type="ephemeral", text="easel help", blocks=blocks)

    # ------------------------------------------------------------------ buttons on results

    async def on_button(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        parsed = parse_action_id(str(action.get("action_id", "")))
        await ack()
        if parsed is None:
            return
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id", ""))
        caller = self._interaction_caller(body, channel=channel, thread_ts=message.get("thread_ts"))
        if parsed.verb == "m":
            self.fe.spawn(self._open_remix_modal(caller, body, parsed), what="button:m")
            return
        self.fe.spawn(self._button_job(caller, parsed, body), what=f"button:{parsed.verb}")

    async def _job(self, caller: Caller, job_id: str, *, need_request: bool = True) -> JobRecord | None:
        """The job a button points at, or None after telling the caller it is gone."""
        try:
            record = await self.jobs.get_job(job_id)
            if record.deleted or (need_request and record.request is None):
                raise JobNotFound(log_detail=f"job {job_id} deleted or without its inputs")
        except EaselError as err:
            await self._tell(caller, _warning(err))
            return None
        return record

    async def _open_remix_modal(self, caller: Caller, body: dict[str, Any], parsed: ButtonAction) -> None:
        record = await self._job(caller, parsed.job_id)
        if record is None or record.request is None:
            return
        context = ModalContext(
            command="remix",
            channel=caller.target.channel,
            response_url=caller.target.response_url,
            mode="append",
            thread_ts=caller.target.thread_ts,
            source=f"{parsed.job_id}:{parsed.index or 0}",
            file={"name": f"image #{(parsed.index or 0) + 1} of that result"},
        )
        view = command_modal(
            COMMANDS["remix"], self.limits, context, prefill=prompt_text(record.request), image_given=True
        )
        self._open_view(caller, str(body.get("trigger_id", "")), view)

    async def _button_job(self, caller: Caller, parsed: ButtonAction, body: dict[str, Any]) -> None:
        record = await self._job(caller, parsed.job_id, need_request=parsed.verb not in ("d", "i"))
        if record is None:
            return
        if parsed.verb == "d":
            await self._delete(caller, record, body)
            return
        if parsed.verb == "i":
            await self._imagine_from_text(caller, record)
            return
        request = record.request
        assert request is not None
        limits = self.limits
        index = parsed.index or 0

        async def build() -> GenerationRequest:
            if parsed.verb == "r":
                return await self._reroll(request)
            original, ref = await self._source(f"{parsed.job_id}:{index}")
            if parsed.verb == "u":
                return await COMMANDS["upscale"].build(Invocation(source_image=original, source=ref), limits)
            options: dict[str, object] = {"strength": VARY_STRENGTH}
            if request.style_preset:
                options["style"] = request.style_preset
            inv = Invocation(text=prompt_text(request), options=options, source_image=original, source=ref)
            return await COMMANDS["remix"].build(inv, limits)

        command = {"u": "upscale", "v": "vary", "r": "reroll"}[parsed.verb]
        await self.submit(caller, command, build)

    async def _imagine_from_text(self, caller: Caller, record: JobRecord) -> None:
        """/describe's *Imagine this*: /imagine the stored caption for whoever pressed (their quota)."""
        text = (record.text or "").strip()
        if not text:
            await self._tell(caller, ":warning: That description is gone, so I can't imagine it.")
            return
        inv = Invocation(text=text)
        limits = self.limits
        await self.submit(caller, "imagine", lambda: COMMANDS["imagine"].build(inv, limits))

    async def _reroll(self, request: GenerationRequest) -> GenerationRequest:
        """The same request with a new seed (a stored request was validated when it was made)."""
        spec = _spec_for(request.operation)
        if spec is not None:
            spec.check_available(self.limits)
        return replace(request, seed=None)

    async def _delete(self, caller: Caller, record: JobRecord, body: dict[str, Any]) -> None:
        if record.requester.key != caller.requester.key:
            await self._tell(caller, ":no_entry: Only the person who asked for these images can delete them.")
            return
        # Forget the job first, so a button pressed while the message is being deleted finds it gone.
        mark_deleted = getattr(self.jobs, "mark_deleted", None)
        if mark_deleted is not None:
            try:
                await mark_deleted(record.job_id)
            except JobNotFound:
                pass
        container = body.get("container") or {}
        channel, ts = str(container.get("channel_id", "")), str(container.get("message_ts", ""))
        message = body.get("message") or {}
        try:
            await self.fe.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            log.info("slack.message_delete_failed", extra={"error": exc.response.get("error")})
        for file in message.get("files") or []:
            try:
                await self.fe.client.files_delete(file=str(file.get("id")))
            except SlackApiError as exc:
                log.info("slack.file_delete_failed", extra={"error": exc.response.get("error")})
        log.info("slack.result_deleted", extra={"job_id": record.job_id})

    # ------------------------------------------------------------------ modals

    async def on_pick(self, ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The shortcut's chooser: swap the modal for the chosen command's form."""
        await ack()
        view = body.get("view") or {}
        spec = COMMANDS.get(str(action.get("value", "")))
        if spec is None:
            return
        old = ModalContext.load(str(view.get("private_metadata", "")))
        context = ModalContext(
            command=spec.name,
            channel=old.channel,
            response_url=old.response_url,
            mode=old.mode,
            thread_ts=old.thread_ts,
            file=old.file,
            source=old.source,
        )
        form = command_modal(spec, self.limits, context, image_given=True)
        self.fe.spawn(self._views_update(str(view.get("id")), view.get("hash"), form), what="views.update")

    async def _views_update(self, view_id: str, view_hash: str | None, form: dict[str, Any]) -> None:
        try:
            await self.fe.client.views_update(view_id=view_id, hash=view_hash, view=form)
        except SlackApiError as exc:
            log.warning("slack.views_update_failed", extra={"error": exc.response.get("error")})

    async def on_modal_submit(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        context = ModalContext.load(str(view.get("private_metadata", "")))
        spec = COMMANDS.get(context.command)
        if spec is None:
            await ack()
            return
        form = read_submission((view.get("state") or {}).get("values") or {}, spec)
        inv = Invocation(text=form.text, options=form.options)
        try:
            resolve(inv, spec, self.limits)  # flags and typed values only: pure, fast, no I/O
        except OptionError as err:
            block = _error_block(view, err.option)
            if block is not None:
                await ack(response_action="errors", errors={block: err.user_message[:150]})
                return
            await ack()
            self.fe.spawn(self._tell(self._modal_caller(body, context), _warning(err)), what="modal:error")
            return
        except InvalidRequest:
            pass  # build() below reports it
        await ack()
        caller = self._modal_caller(body, context)
        self.fe.spawn(self._modal_job(caller, spec, context, form), what=f"modal:{spec.name}")

    def _modal_caller(self, body: dict[str, Any], context: ModalContext) -> Caller:
        user = body.get("user") or {}
        return Caller(
            requester=Requester("slack", str(user.get("id", "")), display_name=str(user.get("name", ""))),
            team=str((body.get("team") or {}).get("id", "")),
            target=StatusTarget(
                channel=context.channel,
                user=str(user.get("id", "")),
                response_url=context.response_url,
                mode="replace" if context.mode == "replace" else "append",
                thread_ts=context.thread_ts,
            ),
            trigger=str(body.get("trigger_id", "")),
        )

    async def _modal_job(
        self, caller: Caller, spec: CommandSpec, context: ModalContext, form: FormValues
    ) -> None:
        limits = self.limits

        async def build() -> GenerationRequest:
            images: dict[str, bytes] = {}
            source_image = None
            source = None
            if context.source:
                source_image, source = await self._source(context.source)
            elif context.file:
                images["image"] = await self._download(context.file, "image")
            for name, files in form.files.items():
                images[name] = await self._download(files[0], name)
            inv = Invocation(
                text=form.text, options=form.options, images=images, source_image=source_image, source=source
            )
            return await spec.build(inv, limits)

        await self.submit(caller, spec.name, build)

    # ------------------------------------------------------------------ message shortcut

    async def on_shortcut(self, ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        message = body.get("message") or {}
        channel = str((body.get("channel") or {}).get("id", ""))
        caller = self._interaction_caller(body, channel=channel, thread_ts=message.get("thread_ts"))
        trigger = str(body.get("trigger_id", ""))
        images = [f for f in message.get("files") or [] if _is_image(f)]
        if not images:
            self._open_view(
                caller,
                trigger,
                message_modal(
                    "No picture found",
                    "That message has no picture I can use. Use this shortcut on a message with a PNG, "
                    "JPEG or WebP image.",
                ),
            )
            return
        file = images[0]
        choices = [COMMANDS[c] for c in SHORTCUT_COMMANDS if COMMANDS[c].available_on(self.limits)]
        if not choices:
            self._open_view(
                caller, trigger, message_modal("Not available", "This image service can't work on pictures.")
            )
            return
        context = ModalContext(
            command="",
            channel=channel,
            response_url=body.get("response_url"),
            mode="append",
            thread_ts=message.get("thread_ts"),
            file=file,
            source=self._own_original(file),
        )
        self._open_view(caller, trigger, pick_modal(context, choices))

    def _own_original(self, file: Mapping[str, Any]) -> str | None:
        """``"<job>:<index>"`` when the file is one of easel's results (start from the clean original)."""
        if self.fe.bot_user_id is None or file.get("user") != self.fe.bot_user_id:
            return None
        m = _EASEL_FILE_RE.match(str(file.get("name", "")))
        if m is None:
            return None
        return f"{m.group('job')}:{int(m.group('n')) - 1}"


def _is_image(file: Mapping[str, Any]) -> bool:
    """Looks like a picture; stubs without details (``file_access: check_file_info``) are checked later."""
    mimetype = str(file.get("mimetype", ""))
    name = str(file.get("name", "")).lower()
    if not mimetype and not name:
        return bool(file.get("id"))
    return mimetype.startswith("image/") or name.endswith((".png", ".jpg", ".jpeg", ".webp"))


def _spec_for(operation: Operation) -> CommandSpec | None:
    return next((c for c in COMMANDS.values() if c.operation == operation), None)


def _error_block(view: Mapping[str, Any], option: str | None) -> str | None:
    """The input block to show an error under: the option's own, else the prompt's."""
    blocks = {b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"}
    for name in (option, "prompt"):
        if name and f"opt:{name}" in blocks:
            return f"opt:{name}"
    return None


def register_handlers(fe: SlackFrontend) -> SlackHandlers:
    handlers = SlackHandlers(fe)
    app = fe.app
    for name in IMAGE_COMMANDS:
        app.command(f"/{name}")(handlers.on_image_command)
    app.command(f"/{QUOTA.name}")(handlers.on_quota)
    app.command("/easel")(handlers.on_easel)
    app.action(ACTION_RE)(handlers.on_button)
    app.action(re.compile(rf"^{PICK_ACTION}:"))(handlers.on_pick)
    app.view(MODAL_CALLBACK)(handlers.on_modal_submit)
    app.shortcut(SHORTCUT_CALLBACK)(handlers.on_shortcut)
    return handlers
