"""Modals for the image commands, built with ``slack_sdk.models`` from each command's form.

Slash commands cannot carry files, so ``/remix``, ``/inpaint``, ``/upscale`` (and ``/imagine``
without text) open a modal: one input per field of the command's form (:mod:`commands.forms`:
labels, hints, bounds, choices and placeholders are derived there, never here), a ``file_input``
per image. Empty inputs mean "not given", so flags typed in the prompt never clash with a default::

    view = command_modal(COMMANDS["remix"], limits, ModalContext(command="remix", channel="C1", ...))
    form = read_submission(view_state_values, COMMANDS["remix"])   # FormValues(text, options, files)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.models import blocks as kit
from slack_sdk.models.blocks.block_elements import FileInputElement
from slack_sdk.models.views import View

from bot.slack.mrkdwn import escape_text, truncate
from commands.forms import FieldChoice, FormField, FormValues, command_form, form_title, form_values
from commands.spec import CommandSpec
from services.backends.base import BackendLimits

__all__ = [
    "FILE_TYPES",
    "MODAL_CALLBACK",
    "PICK_ACTION",
    "FormValues",
    "ModalContext",
    "command_modal",
    "message_modal",
    "pick_modal",
    "read_submission",
]

MODAL_CALLBACK = "easel_modal"
PICK_ACTION = "easel_pick"
FILE_TYPES = ["png", "jpg", "jpeg", "webp"]
_MAX_OPTIONS = 100  # static_select limit
_MAX_VALUE = 150  # an option's value
_MAX_TEXT = 3000  # plain_text_input's max_length and initial_value
_BLOCK_PREFIX = "opt:"


@dataclass(frozen=True)
class ModalContext:
    """What a submission needs besides the form, carried in the view's ``private_metadata``.

    * ``file`` — a Slack file object (id, name, url_private, size) chosen in a message shortcut;
    * ``source`` — ``"<job>:<index>"`` when the image is one of easel's stored originals;
    * ``response_url``/``mode`` — where status goes (see :mod:`bot.slack.status`).
    """

    command: str
    channel: str
    response_url: str | None = None
    mode: str = "append"
    thread_ts: str | None = None
    file: Mapping[str, Any] | None = None
    source: str | None = None

    def dump(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        if self.file is not None:
            keep = ("id", "name", "size", "mimetype", "url_private", "url_private_download")
            data["file"] = {k: self.file[k] for k in keep if k in self.file}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > 3000 and "file" in data:
            data["file"] = {"id": self.file["id"]} if self.file and "id" in self.file else None
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def load(cls, text: str) -> ModalContext:
        data = json.loads(text or "{}")
        optional = {k: data.get(k) for k in ("response_url", "thread_ts", "file", "source")}
        return cls(
            str(data.get("command", "")),
            str(data.get("channel", "")),
            mode=str(data.get("mode", "append")),
            **optional,
        )


def _option(choice: FieldChoice) -> kit.Option:
    return kit.Option(value=str(choice.value), text=truncate(choice.label, 75))


def _number(value: float | None, decimal: bool) -> str | None:
    if value is None:
        return None
    return f"{value:g}" if decimal else str(int(value))


def _element(field: FormField, prefill: str) -> kit.InputInteractiveElement:
    aid, placeholder = field.name, truncate(field.placeholder, 150) if field.placeholder else None
    if field.value_type == "image":
        return FileInputElement(action_id=aid, filetypes=FILE_TYPES, max_files=1)
    # Models are picked from a select when they fit one; a longer catalogue stays a text input.
    if field.choices or (field.choices_follow_backend and 0 < len(field.suggestions) <= _MAX_OPTIONS):
        pickable = [c for c in field.offered if len(str(c.value)) <= _MAX_VALUE]  # longer: flag only
        options = [_option(c) for c in pickable[:_MAX_OPTIONS]]
        return kit.StaticSelectElement(action_id=aid, options=options, placeholder=placeholder)
    if field.value_type in ("integer", "decimal"):
        decimal = field.value_type == "decimal"
        return kit.NumberInputElement(
            action_id=aid,
            is_decimal_allowed=decimal,
            min_value=_number(field.min_value, decimal),
            max_value=_number(field.max_value, decimal),
            placeholder=placeholder,
        )
    if field.value_type == "boolean":
        return kit.CheckboxesElement(action_id=aid, options=[_option(FieldChoice("yes", "yes"))])
    return kit.PlainTextInputElement(
        action_id=aid,
        multiline=field.multiline or None,
        max_length=min(field.max_length, _MAX_TEXT) if field.max_length else None,
        initial_value=prefill[:_MAX_TEXT] if field.multiline and prefill else None,
        placeholder=placeholder,
    )


def _note(text: str) -> kit.ContextBlock:
    return kit.ContextBlock(elements=[kit.MarkdownTextObject(text=text)])


def _modal(title: str, blocks: list[kit.Block], *, close: str = "Cancel", **view: Any) -> dict[str, Any]:
    """The view as ``views.open`` takes it; ``View.to_dict`` also checks Block Kit's limits."""
    return View(
        type="modal", title=truncate(title, 24), close=truncate(close, 24), blocks=blocks, **view
    ).to_dict()


def command_modal(
    spec: CommandSpec,
    limits: BackendLimits,
    context: ModalContext,
    *,
    prefill: str = "",
    image_given: bool = False,
) -> dict[str, Any]:
    """The modal for ``spec``; ``image_given`` leaves out the ``image`` upload (it comes from a message)."""
    form = command_form(spec, limits)
    blocks: list[kit.Block] = []
    if image_given:
        name = (context.file or {}).get("name") or "the picture from the message"
        blocks.append(_note(f"Using *{escape_text(str(name))}*."))
    for entry in form.fields:
        if entry.name == "image" and image_given:
            continue
        blocks.append(
            kit.InputBlock(
                block_id=_BLOCK_PREFIX + entry.name,
                label=truncate(entry.label, 2000),
                hint=truncate(entry.description, 2000),
                optional=not entry.required,
                element=_element(entry, prefill),
            )
        )
    flags = ", ".join(f"`{flag}`" for flag in form.flag_only)
    tip = f"Flags work in the prompt too{': ' + flags if flags else ''}. `/easel help` lists them all."
    if form.takes_prompt:
        blocks.append(_note(tip))
    return _modal(
        form.title,
        blocks,
        callback_id=MODAL_CALLBACK,
        submit="Go",
        private_metadata=context.dump(),
    )


def pick_modal(context: ModalContext, choices: Sequence[CommandSpec]) -> dict[str, Any]:
    """First step of the message shortcut: which command to run on the picture."""
    buttons = [
        kit.ButtonElement(
            text=truncate(form_title(spec), 75), action_id=f"{PICK_ACTION}:{spec.name}", value=spec.name
        )
        for spec in choices
    ]
    name = (context.file or {}).get("name") or "this picture"
    question = f"What should I do with *{escape_text(str(name))}*?"
    return _modal(
        "Use this image",
        [kit.SectionBlock(text=question), kit.ActionsBlock(block_id=PICK_ACTION, elements=buttons)],
        callback_id=PICK_ACTION,
        private_metadata=context.dump(),
    )


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (errors from a shortcut, where there is no channel reply)."""
    return _modal(title, [kit.SectionBlock(text=truncate(text, 3000))], close="OK")


def _submitted(state: Mapping[str, Any]) -> object:
    """One input's value as Slack submits it: text, a select's value, checked or not, or files."""
    kind = state.get("type")
    if kind == "file_input":
        return [f for f in state.get("files") or [] if isinstance(f, Mapping)]
    if kind in ("static_select", "radio_buttons"):
        return (state.get("selected_option") or {}).get("value")
    if kind == "checkboxes":
        return bool(state.get("selected_options"))
    return state.get("value")


def read_submission(
    values: Mapping[str, Mapping[str, Any]], spec: CommandSpec
) -> FormValues[list[Mapping[str, Any]]]:
    """Turn ``view.state.values`` into prompt text, option strings and Slack file objects."""
    submitted = {
        name: _submitted(actions.get(name) or {})
        for block_id, actions in values.items()
        if (name := block_id.removeprefix(_BLOCK_PREFIX)) != block_id and spec.option(name) is not None
    }
    return form_values(spec, submitted)
