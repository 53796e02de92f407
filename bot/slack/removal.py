"""Taking a deleted result out of Slack: its card and the images uploaded for it.

A result is two things in the channel (the images, then the card with the buttons, see
:mod:`bot.slack.sink`); Delete's ``value`` lists the images' file ids, so this works after a
restart without a lookup. A result posted before cards carried its files on the message itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import file_ids

__all__ = ["remove_result"]

log = logging.getLogger(__name__)


async def remove_result(client: AsyncWebClient, pressed: Mapping[str, Any], body: Mapping[str, Any]) -> None:
    """Delete the card the button was on and every image it names; Slack's refusals are only logged."""
    container = body.get("container") or {}
    try:
        await client.chat_delete(
            channel=str(container.get("channel_id", "")), ts=str(container.get("message_ts", ""))
        )
    except SlackApiError as exc:
        log.info("slack.message_delete_failed", extra={"error": exc.response.get("error")})
    attached = [str(f.get("id", "")) for f in (body.get("message") or {}).get("files") or []]
    for file_id in file_ids(",".join([str(pressed.get("value") or ""), *attached])):
        try:
            await client.files_delete(file=file_id)
        except SlackApiError as exc:
            log.info("slack.file_delete_failed", extra={"error": exc.response.get("error")})
