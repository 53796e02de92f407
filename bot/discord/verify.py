"""``/verify image:<attachment>`` on Discord: the shared verifier's answer, shown only to the caller.

::

    bot.tree.add_command(verify_command(ctx))

Deferred ephemerally first (the 3-second deadline), then the attachment is downloaded within
:data:`services.provenance.verify.VERIFY_LIMITS`, checked (:class:`services.provenance.verify.Verifier`)
and the sentences of :func:`commands.verify.verification_lines` replace the "thinking" message.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord.context import DiscordContext
from bot.discord.handlers import requester_of
from bot.discord.render import MARKUP, NO_MENTIONS
from commands.replies import error_text
from commands.verify import VERIFY, VERIFY_IMAGE_HELP, verification_lines
from services.errors import EaselError
from services.provenance.verify import VERIFY_LIMITS

__all__ = ["verify_command"]

log = logging.getLogger(__name__)


def verify_command(ctx: DiscordContext) -> app_commands.Command[Any, ..., None]:
    """The ``/verify`` application command, answering through ``ctx``."""

    @app_commands.describe(image=VERIFY_IMAGE_HELP)
    async def easel_verify(interaction: discord.Interaction[Any], image: discord.Attachment) -> None:
        with ctx.tasks.track():
            await interaction.response.defer(thinking=True, ephemeral=True)
            try:
                data = await ctx.attachments.fetch(image, VERIFY_LIMITS, what="picture")
                result = await ctx.verifier.verify(data, viewer=requester_of(interaction.user, interaction))
                text = "\n".join(verification_lines(result))
            except EaselError as exc:
                text = error_text(exc, MARKUP)
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": VERIFY.name})
                text = error_text(EaselError(), MARKUP)
            await interaction.edit_original_response(content=text, allowed_mentions=NO_MENTIONS)

    return app_commands.Command(name=VERIFY.name, description=VERIFY.description, callback=easel_verify)
