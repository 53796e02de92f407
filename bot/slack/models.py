"""``/models [command]`` (and ``/easel models``) on Slack: the shared listing as private blocks.

::

    register_models(app, ctx, services.models)

The listener acks at once; asking each service whether it works (cached for a minute) happens
after, and the answer goes to the command's ``response_url`` (``chat.postEphemeral`` when that
is used up). Blocks are built with ``slack_sdk.models`` and stay within Block Kit's limits by
construction: one section per command or per model, at most :data:`_MAX_MODEL_BLOCKS` models,
each section cut to whole lines within 3,000 characters.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.context import SlackContext
from bot.slack.mrkdwn import MARKUP
from commands.info import MODELS
from commands.models import (
    ModelListing,
    detail_lines,
    fit_lines,
    model_line,
    model_listing,
    overview_lines,
    unavailable_services,
)
from commands.replies import Icon, error_text
from services.backends.catalogue import ModelCatalogue
from services.errors import EaselError

__all__ = ["answer_models", "models_blocks", "register_models"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]

_SECTION_MAX = 3000
_HEADER_MAX = 150
_MAX_MODEL_BLOCKS = 40  # of a message's 50 blocks: room for the header, notes and "…and N more"
_FOOTER = "Cost is in quota units per image. `/models imagine` shows one command's limits and notes."


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=fit_lines(text.splitlines(), _SECTION_MAX, more=_more)))


def _more(n: int) -> str:
    return f"…and {n} more"


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text[:_SECTION_MAX])])


def models_blocks(listing: ModelListing, command: str = "") -> tuple[str, list[dict[str, Any]]]:
    """``(fallback text, blocks)``: the overview, or one command's models when ``command`` names one."""
    one = listing.command(command) if command else None
    blocks: list[Block] = []
    if one is not None:
        title = f"/{one.command} — models you can use now"
        blocks.append(HeaderBlock(text=title[:_HEADER_MAX]))
        blocks.append(_context(detail_lines(one, MARKUP)[0]))
        blocks += [_section(model_line(m, MARKUP)) for m in one.models[:_MAX_MODEL_BLOCKS]]
        left = len(one.models) - _MAX_MODEL_BLOCKS
        if left > 0:
            blocks.append(_context(f"…and {left} more models"))
    else:
        title = "Models you can use now"
        blocks.append(HeaderBlock(text=title))
        lines = overview_lines(listing, MARKUP) or ["No model is enabled."]
        blocks += [_section(line) for line in lines[:_MAX_MODEL_BLOCKS]]
        icon = MARKUP.icons[Icon.WARNING]
        for service, why in list(unavailable_services(listing).items())[:5]:
            blocks.append(_context(f"{icon} {MARKUP.escape(service)} is unavailable right now: {why}"))
        blocks.append(_context(_FOOTER))
    return title, [b.to_dict() for b in blocks]


async def answer_models(
    ctx: SlackContext, catalogue: ModelCatalogue, body: Mapping[str, Any], command: str
) -> None:
    """Work out the listing and tell it to the person who asked, privately."""
    try:
        text, blocks = await _reply(catalogue, command.strip().lstrip("/").lower())
    except EaselError as exc:
        text, blocks = error_text(exc, MARKUP), []
    except Exception:
        log.exception("slack.handler_crashed", extra={"command": MODELS.name})
        text, blocks = error_text(EaselError(), MARKUP), []
    await _post(ctx, body, text, blocks)


async def _reply(catalogue: ModelCatalogue, command: str) -> tuple[str, list[dict[str, Any]]]:
    listing = model_listing(await catalogue.snapshot())
    if command and listing.command(command) is None:
        served = ", ".join(f"`/{c.command}`" for c in listing.commands)
        return f"No enabled model serves `/{MARKUP.escape(command)}`. Commands with models: {served}.", []
    return models_blocks(listing, command)


async def _post(ctx: SlackContext, body: Mapping[str, Any], text: str, blocks: list[dict[str, Any]]) -> None:
    url = str(body.get("response_url") or "")
    if url:
        try:
            response = await AsyncWebhookClient(url).send(response_type="ephemeral", text=text, blocks=blocks)
            if response.status_code == 200:
                return
            log.info("slack.response_url_refused", extra={"status": response.status_code})
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack.response_url_failed", extra={"error": type(exc).__name__})
    try:
        await ctx.client.chat_postEphemeral(
            channel=str(body.get("channel_id", "")),
            user=str(body.get("user_id", "")),
            text=text,
            blocks=blocks,
        )
    except SlackApiError as exc:
        log.warning("slack.models_reply_failed", extra={"error": exc.response.get("error")})


def register_models(app: AsyncApp, ctx: SlackContext, catalogue: ModelCatalogue) -> None:
    """Listen for ``/models [command]``."""

    async def on_command(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(answer_models(ctx, catalogue, body, str(body.get("text", ""))), name=MODELS.name)

    app.command(f"/{MODELS.name}")(on_command)
