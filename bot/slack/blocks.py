"""Block Kit for result cards and their buttons, built with ``slack_sdk.models.blocks``.

A result is two messages in the same place: the uploaded images (``files.completeUploadExternal``
takes only rich text blocks, so no buttons there), then this card (``chat.postMessage``) with the
summary and the buttons. Buttons carry their state in ``action_id`` (:mod:`commands.actions`:
``easel:<verb>:<job>[:<index>]``), so they keep working after a restart: the handler looks the job
up in SQLite and starts from its stored clean original. The Delete button's ``value`` lists the
uploaded files' ids, so the files go with the card, also after a restart::

    blocks = result_blocks(outcome, user_id="U123", operations=limits.operations, file_ids=("F0123ABCD",))
    text, blocks = describe_message(outcome, user_id="U123", operations=limits.operations)
    file_ids("F0123ABCD,F0456EFGH")  # ("F0123ABCD", "F0456EFGH"), from a pressed Delete button
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.slack.mrkdwn import escape_text, quote_prompt, truncate
from commands.actions import Verb, encode
from commands.replies import made_by_text, made_verb, withheld_text
from services.types import GenerationRequest, JobOutcome, Operation, PublishedImage

__all__ = ["describe_message", "fallback_text", "file_ids", "result_blocks", "result_summary"]

#: Slack's limit for a section's text.
_SECTION_MAX = 3000
_PER_IMAGE = (
    (Verb.UPSCALE, "Upscale", Operation.UPSCALE),
    (Verb.VARY, "Vary", Operation.REMIX),
    (Verb.REMIX, "Remix", Operation.REMIX),
)
#: What a Slack file id looks like (Slack checks ``slack_file.id`` against the same pattern).
_FILE_ID_RE = re.compile(r"^F[A-Z0-9]{8,}$")
_CONFIRM_DELETE = ConfirmObject(
    title="Delete these images?",
    text=PlainTextObject(text="This removes the images and this message for everyone."),
    confirm="Delete",
    deny="Keep",
)


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text, _SECTION_MAX)))


def result_summary(request: GenerationRequest, images: tuple[PublishedImage, ...], user_id: str) -> str:
    """One mrkdwn paragraph: who asked, what (escaped, so it cannot notify anyone), seed and size."""
    lines = [f"<@{user_id}> {made_verb(request.operation)}:"]
    if request.positive_prompt:
        lines.append(f"> {quote_prompt(request.positive_prompt)}")
    if request.negative_prompt:
        lines.append(f"_without:_ {quote_prompt(request.negative_prompt, 200)}")
    several = len(images) > 1
    details = [
        f"{f'#{i.index + 1} ' if several else ''}seed `{i.seed}` · {i.width}×{i.height}" for i in images
    ]
    if details:
        lines.append(" | ".join(details))
    return "\n".join(lines)


def result_blocks(
    outcome: JobOutcome,
    *,
    user_id: str,
    operations: frozenset[Operation],
    file_ids: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """The card: summary, per-image buttons (upscale / vary / remix) and reroll / delete.

    ``file_ids`` are the uploaded images; Delete carries them in its ``value`` (at most 10 ids of a
    dozen characters, far inside the 2,000 Slack allows).
    """
    blocks: list[Block] = [_section(result_summary(outcome.request, outcome.images, user_id))]
    if outcome.filtered:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"{withheld_text(outcome.filtered)}.")]))
    made_by = made_by_text(outcome.model, outcome.fallback_from)
    if made_by:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=escape_text(made_by))]))
    job = outcome.job_id
    several = len(outcome.images) > 1
    for image in outcome.images:
        n = f" #{image.index + 1}" if several else ""
        buttons = [
            ButtonElement(text=f"{label}{n}", action_id=encode(verb, job, image.index))
            for verb, label, needs in _PER_IMAGE
            if needs in operations
        ]
        if buttons:
            blocks.append(ActionsBlock(block_id=f"easel:img:{image.index}", elements=buttons))
    closing = [
        ButtonElement(text="Reroll", action_id=encode(Verb.REROLL, job)),
        ButtonElement(
            text="Delete",
            action_id=encode(Verb.DELETE, job),
            value=",".join(file_ids) or None,
            style="danger",
            confirm=_CONFIRM_DELETE,
        ),
    ]
    blocks.append(ActionsBlock(block_id="easel:job", elements=closing))
    return [b.to_dict() for b in blocks]


def describe_message(
    outcome: JobOutcome, *, user_id: str, operations: frozenset[Operation]
) -> tuple[str, list[dict[str, Any]]]:
    """A ``/describe`` result: the caption, how to reuse it, and an *Imagine this* button.

    The button carries only the job id; pressing it reads the caption from SQLite, so it works
    after a restart and cannot be fed a different text by editing the message.
    """
    caption = quote_prompt(outcome.text or "", 1200)
    body = f"<@{user_id}> asked me to describe a picture:\n> {caption}\nReuse it: `/imagine {caption}`"
    blocks: list[Block] = [_section(body)]
    if Operation.IMAGINE in operations:
        button = ButtonElement(
            text="Imagine this", action_id=encode(Verb.IMAGINE_THIS, outcome.job_id), style="primary"
        )
        blocks.append(ActionsBlock(block_id="easel:describe", elements=[button]))
    return body, [b.to_dict() for b in blocks]


def file_ids(value: str | None) -> tuple[str, ...]:
    """The file ids a Delete button's ``value`` lists (anything that is not a file id is dropped)."""
    return tuple(dict.fromkeys(v for v in (value or "").split(",") if _FILE_ID_RE.fullmatch(v)))


def fallback_text(request: GenerationRequest, user_id: str) -> str:
    """Plain text for notifications (no mrkdwn formatting beyond the requester)."""
    return f"<@{user_id}> {made_verb(request.operation)}: {escape_text(request.positive_prompt)[:200]}"
