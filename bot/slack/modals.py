"""Modals for the image commands, generated from each command's ``OptionSpec``s.

Slash commands cannot carry files, so ``/remix``, ``/inpaint``, ``/upscale`` (and ``/imagine``
without text) open a modal: one input per typed option of the command, a ``file_input`` per image
option, labels and hints taken from the option declarations (never restated here). Empty inputs
mean "not given", so flags typed in the prompt never clash with a default::

    view = command_modal(COMMANDS["remix"], limits, ModalContext(command="remix", channel="C1", ...))
    form = read_submission(view_state_values, COMMANDS["remix"])   # FormValues(text, options, files)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from bot.slack.mrkdwn import escape_text, truncate
from commands.help import describe_default, describe_values
from commands.options import OptionSpec
from commands.spec import CommandSpec
from services.backends.base import BackendLimits

__all__ = [
    "FILE_TYPES",
    "MODAL_CALLBACK",
    "PICK_ACTION",
    "FormValues",
    "ModalContext",
    "command_modal",
    "pick_modal",
    "read_submission",
]

MODAL_CALLBACK = "easel_modal"
PICK_ACTION = "easel_pick"
FILE_TYPES = ["png", "jpg", "jpeg", "webp"]
_MAX_OPTIONS = 100  # static_select limit
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
        return cls(
            command=str(data.get("command", "")),
            channel=str(data.get("channel", "")),
            response_url=data.get("response_url"),
            mode=str(data.get("mode", "append")),
            thread_ts=data.get("thread_ts"),
            file=data.get("file"),
            source=data.get("source"),
        )


@dataclass(frozen=True)
class FormValues:
    """A submitted modal: prompt text, typed option values (strings), and Slack file objects."""

    text: str = ""
    options: dict[str, object] = field(default_factory=dict)
    files: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict)


def _label(option: OptionSpec) -> str:
    words = option.name.replace("_", " ")
    label = words[0].upper() + words[1:]
    return f"{label} ({option.flag_names[0]})" if option.flag_names else label


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)}


def _option(value: object) -> dict[str, Any]:
    return {"text": _plain(str(value), 75), "value": str(value)}


def _element(option: OptionSpec, limits: BackendLimits, prefill: str) -> dict[str, Any] | None:
    aid = option.name
    if option.kind == "image":
        return {"type": "file_input", "action_id": aid, "filetypes": FILE_TYPES, "max_files": 1}
    choices = option.choices_for(limits)
    if option.kind in ("choice", "int") and choices:
        element: dict[str, Any] = {
            "type": "static_select",
            "action_id": aid,
            "options": [_option(c) for c in choices[:_MAX_OPTIONS]],
            "placeholder": _plain(f"default: {describe_default(option, limits)}", 150),
        }
        return element
    if option.kind == "choice":
        return None  # no choices on this backend: the option is unsupported here
    if option.kind in ("int", "float"):
        element = {"type": "number_input", "action_id": aid, "is_decimal_allowed": option.kind == "float"}
        bounds = option.range_for(limits)
        if bounds is not None:
            low, high = bounds
            if low != float("-inf"):
                element["min_value"] = f"{low:g}" if option.kind == "float" else str(int(low))
            if high != float("inf"):
                element["max_value"] = f"{high:g}" if option.kind == "float" else str(int(high))
        element["placeholder"] = _plain(f"default: {describe_default(option, limits)}", 150)
        return element
    if option.kind == "bool":
        return {"type": "checkboxes", "action_id": aid, "options": [_option("yes")]}
    element = {"type": "plain_text_input", "action_id": aid}
    if option.name == "prompt":
        element["multiline"] = True
        element["max_length"] = min(limits.max_prompt_chars, 3000)
        if prefill:
            element["initial_value"] = prefill[:3000]
    placeholder = f"e.g. {option.example}" if option.example else describe_values(option, limits)
    element["placeholder"] = _plain(placeholder, 150)
    return element


def command_modal(
    spec: CommandSpec,
    limits: BackendLimits,
    context: ModalContext,
    *,
    prefill: str = "",
    image_given: bool = False,
) -> dict[str, Any]:
    """The modal for ``spec``; ``image_given`` leaves out the ``image`` upload (it comes from a message)."""
    blocks: list[dict[str, Any]] = []
    if image_given:
        name = (context.file or {}).get("name") or "the picture from the message"
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Using *{escape_text(str(name))}*."}],
            }
        )
    for option in spec.typed_options:
        if option.name == "image" and image_given:
            continue
        if not option.supported_by(limits):
            continue
        element = _element(option, limits, prefill)
        if element is None:
            continue
        required = option.required and not (option.name == "prompt" and not spec.prompt_required)
        blocks.append(
            {
                "type": "input",
                "block_id": _BLOCK_PREFIX + option.name,
                "label": _plain(_label(option), 2000),
                "hint": _plain(option.help, 2000),
                "optional": not required,
                "element": element,
            }
        )
    flags = ", ".join(
        f"`{o.flag_names[0]}`" for o in spec.flag_options if not o.typed and o.supported_by(limits)
    )
    tip = f"Flags work in the prompt too{': ' + flags if flags else ''}. `/easel help` lists them all."
    if spec.takes_prompt:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": tip}]})
    title = spec.name[0].upper() + spec.name[1:]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": _plain(title, 24),
        "submit": _plain("Go", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": context.dump(),
        "blocks": blocks,
    }


def pick_modal(context: ModalContext, choices: list[CommandSpec]) -> dict[str, Any]:
    """First step of the message shortcut: which command to run on the picture."""
    buttons = [
        {
            "type": "button",
            "text": _plain(spec.name[0].upper() + spec.name[1:], 75),
            "action_id": f"{PICK_ACTION}:{spec.name}",
            "value": spec.name,
        }
        for spec in choices
    ]
    name = (context.file or {}).get("name") or "this picture"
    return {
        "type": "modal",
        "callback_id": PICK_ACTION,
        "title": _plain("Use this image", 24),
        "close": _plain("Cancel", 24),
        "private_metadata": context.dump(),
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"What should I do with *{escape_text(str(name))}*?"},
            },
            {"type": "actions", "block_id": PICK_ACTION, "elements": buttons},
        ],
    }


def message_modal(title: str, text: str) -> dict[str, Any]:
    """A modal that only says something (errors from a shortcut, where there is no channel reply)."""
    return {
        "type": "modal",
        "title": _plain(title, 24),
        "close": _plain("OK", 24),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}],
    }


def read_submission(values: Mapping[str, Mapping[str, Any]], spec: CommandSpec) -> FormValues:
    """Turn ``view.state.values`` into prompt text, option strings and file objects."""
    text = ""
    options: dict[str, object] = {}
    files: dict[str, list[Mapping[str, Any]]] = {}
    for block_id, actions in values.items():
        if not block_id.startswith(_BLOCK_PREFIX):
            continue
        name = block_id.removeprefix(_BLOCK_PREFIX)
        option = spec.option(name)
        if option is None:
            continue
        state = actions.get(name) or {}
        kind = state.get("type")
        if kind == "file_input":
            chosen = [f for f in state.get("files") or [] if isinstance(f, Mapping)]
            if chosen:
                files[name] = chosen
            continue
        if kind in ("static_select", "radio_buttons"):
            selected = state.get("selected_option") or {}
            value = selected.get("value")
        elif kind == "checkboxes":
            value = bool(state.get("selected_options"))
        else:
            value = state.get("value")
        if value is None or value == "" or value is False:
            continue
        if name == "prompt":
            text = str(value)
        else:
            options[name] = value
    return FormValues(text=text, options=options, files=files)
