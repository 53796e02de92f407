"""Block Kit for result messages and their buttons.

Buttons carry their state in ``action_id`` (``easel:<verb>:<job>[:<index>]``), so they keep working
after a restart: the handler looks the job up in SQLite and starts from its stored clean original::

    blocks = result_blocks(outcome, user_id="U123", operations=limits.operations)
    parse_action_id("easel:u:6f1c…:2")   # ButtonAction(verb="u", job_id="6f1c…", index=2)
    text, blocks = describe_message(outcome, user_id="U123", operations=limits.operations)
    parse_action_id("easel:i:6f1c…")     # /describe's "Imagine this": the caption is read from the job
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.slack.mrkdwn import escape_text, quote_prompt, truncate
from services.types import GenerationRequest, JobOutcome, Operation, PublishedImage

__all__ = [
    "ACTION_RE",
    "ButtonAction",
    "action_id",
    "describe_message",
    "parse_action_id",
    "result_blocks",
    "result_summary",
]

# u = upscale, v = vary, m = remix (opens a modal), r = reroll, d = delete,
# i = imagine from a /describe result (the text is read back from the job, not from the message)
ACTION_RE = re.compile(r"^easel:(?P<verb>[uvmrdi]):(?P<job>[A-Za-z0-9_-]{1,64})(?::(?P<index>\d{1,3}))?$")

_VERB_NEEDS = {"u": Operation.UPSCALE, "v": Operation.REMIX, "m": Operation.REMIX}
_TITLES = {
    Operation.IMAGINE: "imagined",
    Operation.REMIX: "remixed",
    Operation.INPAINT: "inpainted",
    Operation.UPSCALE: "upscaled",
    Operation.OUTPAINT: "outpainted",
}


@dataclass(frozen=True, slots=True)
class ButtonAction:
    verb: str
    job_id: str
    index: int | None = None


def action_id(verb: str, job_id: str, index: int | None = None) -> str:
    return f"easel:{verb}:{job_id}" + (f":{index}" if index is not None else "")


def parse_action_id(value: str) -> ButtonAction | None:
    m = ACTION_RE.match(value)
    if m is None:
        return None
    index = m.group("index")
    return ButtonAction(m.group("verb"), m.group("job"), int(index) if index is not None else None)


def _button(text: str, action: str, *, value: str = "", style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action,
    }
    if value:
        button["value"] = value
    if style:
        button["style"] = style
    return button


def _size(image: PublishedImage) -> str:
    return f"{image.width}×{image.height}"


def result_summary(request: GenerationRequest, images: tuple[PublishedImage, ...], user_id: str) -> str:
    """One mrkdwn paragraph: who asked, what (escaped, so it cannot notify anyone), seed and size."""
    verb = _TITLES.get(request.operation, "made")
    lines = [f"<@{user_id}> {verb}:"]
    prompt = request.positive_prompt
    if prompt:
        lines.append(f"> {quote_prompt(prompt)}")
    if request.negative_prompt:
        lines.append(f"_without:_ {quote_prompt(request.negative_prompt, 200)}")
    details = []
    for image in images:
        prefix = f"#{image.index + 1} " if len(images) > 1 else ""
        details.append(f"{prefix}seed `{image.seed}` · {_size(image)}")
    if details:
        lines.append(" | ".join(details))
    return "\n".join(lines)


def result_blocks(
    outcome: JobOutcome, *, user_id: str, operations: frozenset[Operation]
) -> list[dict[str, Any]]:
    """Summary, per-image buttons (upscale / vary / remix) and reroll / delete."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": result_summary(outcome.request, outcome.images, user_id)},
        }
    ]
    if outcome.filtered:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{outcome.filtered} image(s) were withheld by the safety filter and not counted.",
                    }
                ],
            }
        )
    job = outcome.job_id
    several = len(outcome.images) > 1
    for image in outcome.images:
        n = f" #{image.index + 1}" if several else ""
        buttons = []
        for verb, label in (("u", "Upscale"), ("v", "Vary"), ("m", "Remix")):
            if _VERB_NEEDS[verb] in operations:
                buttons.append(_button(f"{label}{n}", action_id(verb, job, image.index)))
        if buttons:
            blocks.append({"type": "actions", "block_id": f"easel:img:{image.index}", "elements": buttons})
    closing = [
        _button("Reroll", action_id("r", job)),
        _button("Delete", action_id("d", job), style="danger"),
    ]
    closing[1]["confirm"] = {
        "title": {"type": "plain_text", "text": "Delete these images?"},
        "text": {"type": "plain_text", "text": "This removes the message and its images for everyone."},
        "confirm": {"type": "plain_text", "text": "Delete"},
        "deny": {"type": "plain_text", "text": "Keep"},
    }
    blocks.append({"type": "actions", "block_id": "easel:job", "elements": closing})
    return blocks


#: Slack's limit for a section's text.
_SECTION_MAX = 3000


def describe_message(
    outcome: JobOutcome, *, user_id: str, operations: frozenset[Operation]
) -> tuple[str, list[dict[str, Any]]]:
    """A ``/describe`` result: the caption, how to reuse it, and an *Imagine this* button.

    The button carries only the job id; pressing it reads the caption from SQLite, so it works
    after a restart and cannot be fed a different text by editing the message.
    """
    caption = quote_prompt(outcome.text or "", 1200)
    body = f"<@{user_id}> asked me to describe a picture:\n> {caption}\nReuse it: `/imagine {caption}`"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(body, _SECTION_MAX)}}
    ]
    if Operation.IMAGINE in operations:
        button = _button("Imagine this", action_id("i", outcome.job_id), style="primary")
        blocks.append({"type": "actions", "block_id": "easel:describe", "elements": [button]})
    return body, blocks


def fallback_text(request: GenerationRequest, user_id: str) -> str:
    """Plain text for notifications (no mrkdwn formatting beyond the requester)."""
    verb = _TITLES.get(request.operation, "made")
    return f"<@{user_id}> {verb}: {escape_text(request.positive_prompt)[:200]}"
