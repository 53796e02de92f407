"""Verifying a picture on Slack: the *Verify with easel* message shortcut, and ``/verify``.

::

    register_verify(app, ctx)

Slack's slash commands cannot carry a file, so the picture comes from the message the shortcut
was used on (the first PNG/JPEG/WebP in it); ``/verify`` itself answers, privately, how to do
that. The shortcut acks at once, then downloads within
:data:`services.provenance.verify.VERIFY_LIMITS`, asks the shared
:class:`services.provenance.verify.Verifier` and tells the result only to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

from slack_bolt.async_app import AsyncApp

from bot.slack.context import SlackContext
from bot.slack.mrkdwn import MARKUP, escape_text
from bot.slack.status import StatusTarget
from commands.replies import error_text
from commands.verify import VERIFY, verification_lines
from services.downloads import looks_like_image
from services.errors import EaselError, InvalidRequest
from services.provenance.verify import VERIFY_LIMITS
from services.types import Requester

__all__ = ["VERIFY_HOWTO", "VERIFY_SHORTCUT", "VERIFY_SHORTCUT_NAME", "register_verify"]

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[Any]]

VERIFY_SHORTCUT: Final = "easel_verify"
VERIFY_SHORTCUT_NAME: Final = "Verify with easel"
VERIFY_HOWTO: Final = (
    f"Slack commands can't carry a picture: open the ⋯ menu on the message with the picture and "
    f"choose *{VERIFY_SHORTCUT_NAME}*. I'll tell you (and only you) whether this bot made it."
)
_NO_PICTURE: Final = "There is no PNG, JPEG or WebP picture in that message to verify."


def register_verify(app: AsyncApp, ctx: SlackContext) -> None:
    """Listen for ``/verify`` and the *Verify with easel* shortcut."""

    async def on_command(ack: Ack) -> None:
        await ack(response_type="ephemeral", text=VERIFY_HOWTO)

    async def on_shortcut(ack: Ack, body: dict[str, Any]) -> None:
        await ack()
        ctx.tasks.spawn(_answer(ctx, body), name=VERIFY.name)

    app.command(f"/{VERIFY.name}")(on_command)
    app.shortcut(VERIFY_SHORTCUT)(on_shortcut)


async def _answer(ctx: SlackContext, body: Mapping[str, Any]) -> None:
    user_id = str((body.get("user") or {}).get("id", ""))
    message = body.get("message") or {}
    target = StatusTarget(
        channel=str((body.get("channel") or {}).get("id", "")),
        user=user_id,
        response_url=body.get("response_url"),
        thread_ts=message.get("thread_ts"),
    )
    try:
        files = [
            f
            for f in message.get("files") or []
            if looks_like_image(str(f.get("mimetype", "")), str(f.get("name", "")))
        ]
        if not files:
            raise InvalidRequest(_NO_PICTURE)
        data = await ctx.files().download(files[0], max_bytes=VERIFY_LIMITS.max_input_bytes, what="picture")
        result = await ctx.verifier.verify(data, viewer=Requester("slack", user_id))
        text = "\n".join(escape_text(line) for line in verification_lines(result))
    except EaselError as exc:
        text = error_text(exc, MARKUP)
    except Exception:
        log.exception("slack.handler_crashed", extra={"command": VERIFY.name})
        text = error_text(EaselError(), MARKUP)
    await ctx.status(target).final(text)
