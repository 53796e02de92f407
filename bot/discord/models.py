"""``/models [command]`` on Discord: the shared listing (:mod:`commands.models`) as a private embed.

::

    bot.tree.add_command(models_command(services.models, ctx.tasks))

Deferred ephemerally first: asking each service whether it works (cached for a minute) may take
longer than Discord's 3 seconds. Without ``command`` it shows one line per command; with one,
a line per model with its limits, cost and notes. Both fit one embed by construction (whole
lines, then "…and N more").
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import discord
from discord import app_commands

from bot.discord.render import MARKUP, NO_MENTIONS
from commands import COMMANDS
from commands.info import MODELS
from commands.models import (
    ModelListing,
    detail_lines,
    fit_lines,
    model_listing,
    models_serving,
    overview_lines,
    unavailable_services,
)
from commands.replies import Icon, error_text
from services.backends.catalogue import ModelCatalogue
from services.errors import EaselError
from services.tasks import BackgroundTasks

__all__ = ["models_command", "models_embed"]

log = logging.getLogger(__name__)

_DESCRIPTION_MAX = 4096  # an embed's description; title and footer stay far below the 6,000 in all
_TITLE_MAX = 256
#: Operator-chosen names (ComfyUI workflows, checkpoints) are shown as text, never as markdown.
_MARKUP = dataclasses.replace(MARKUP, escape=discord.utils.escape_markdown)
_COMMAND_HELP = "Show one command's models in detail"


def models_embed(listing: ModelListing, command: str | None = None) -> discord.Embed:
    """The overview, or one command's models; within Discord's embed limits whatever the lists hold."""
    one = listing.command(command) if command else None
    if one is not None:
        lines = detail_lines(one, _MARKUP)
        description = fit_lines(lines[1:], _DESCRIPTION_MAX, more=lambda n: f"…and {n} more models")
        embed = discord.Embed(title=f"/{one.command} — models you can use now"[:_TITLE_MAX])
        embed.description = description
        embed.set_footer(text=f"Default: {one.default} · pick another with the model option or --model")
        return embed
    lines = overview_lines(listing, _MARKUP) or ["No model is enabled."]
    down = unavailable_services(listing)
    if down:
        icon = _MARKUP.icons[Icon.WARNING]
        lines += [f"{icon} {_MARKUP.escape(s)} is unavailable right now: {why}" for s, why in down.items()]
    embed = discord.Embed(title="Models you can use now")
    embed.description = fit_lines(lines, _DESCRIPTION_MAX, more=lambda n: f"…and {n} more lines")
    embed.set_footer(text="Cost in quota units per image · /models command:<name> shows limits and notes")
    return embed


def models_command(catalogue: ModelCatalogue, tasks: BackgroundTasks) -> app_commands.Command[Any, ..., None]:
    """The ``/models`` application command; ``command`` offers the commands some model serves."""
    offers = catalogue.offers()
    served = [c for c in COMMANDS.values() if models_serving(c, offers)][:25]  # Discord: 25 choices

    @app_commands.describe(command=_COMMAND_HELP)
    async def easel_models(interaction: discord.Interaction[Any], command: str | None = None) -> None:
        with tasks.track():
            await interaction.response.defer(thinking=True, ephemeral=True)
            try:
                listing = model_listing(await catalogue.snapshot())
                await interaction.edit_original_response(
                    embed=models_embed(listing, command), allowed_mentions=NO_MENTIONS
                )
                return
            except Exception:
                log.exception("discord.handler_crashed", extra={"command": MODELS.name})
            await interaction.edit_original_response(
                content=error_text(EaselError(), MARKUP), allowed_mentions=NO_MENTIONS
            )

    if served:
        choices = [app_commands.Choice(name=f"/{c.name}", value=c.name) for c in served]
        app_commands.choices(command=choices)(easel_models)
    return app_commands.Command(name=MODELS.name, description=MODELS.description, callback=easel_models)
