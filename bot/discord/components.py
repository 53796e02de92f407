"""Restart-proof buttons and the remix modal, in the grammar of :mod:`commands.actions`.

:class:`ResultButton` is a :class:`discord.ui.DynamicItem`, registered once with the bot, so a
message posted before a restart still works afterwards: discord.py matches the ``custom_id``
against :data:`commands.actions.ACTION_RE` and the job is looked up in SQLite. A click goes to the
:class:`bot.discord.client.EaselBot`'s router (the handlers). The remix modal's submit
(``easel:mm:<job>:<index>``) is read from the raw interaction (:func:`modal_values`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import discord

from bot.discord.client import EaselBot
from commands.actions import ACTION_RE, Action, Verb, decode, encode
from services.types import Operation

__all__ = ["ResultButton", "modal_values", "remix_modal", "result_view", "text_view"]

_PER_ROW = 5


class ResultButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=ACTION_RE):
    """One button under a result; clicks are routed to the bot's :attr:`EaselBot.router`."""

    def __init__(
        self,
        action: Action,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            custom_id=action.id, label=label, emoji=emoji, style=style, row=row
        )
        super().__init__(button)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ResultButton:
        action = decode(match.string)
        assert action is not None  # the template matched
        return cls(action)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client = interaction.client
        if isinstance(client, EaselBot) and client.router is not None:
            await client.router.on_button(interaction, self.action)


def _button(verb: Verb, job_id: str, index: int | None = None, **kwargs: Any) -> ResultButton:
    return ResultButton(Action(verb, job_id, index), **kwargs)


def result_view(job_id: str, indices: list[int], operation: Operation) -> discord.ui.View:
    """U/V per image, then 🔁 ✏️ 🗑 (upscaled results: ✏️ 🗑 only)."""
    view = discord.ui.View(timeout=None)
    row = 0
    if operation is not Operation.UPSCALE:
        for verb in (Verb.UPSCALE, Verb.VARY):
            for start in range(0, len(indices), _PER_ROW):
                for index in indices[start : start + _PER_ROW]:
                    view.add_item(
                        _button(verb, job_id, index, label=f"{verb.value.upper()}{index + 1}", row=row)
                    )
                row += 1
        view.add_item(_button(Verb.REROLL, job_id, emoji="🔁", row=row))
    view.add_item(_button(Verb.REMIX, job_id, indices[0] if indices else 0, emoji="✏️", row=row))
    view.add_item(_button(Verb.DELETE, job_id, emoji="🗑", style=discord.ButtonStyle.danger, row=row))
    return view


def text_view(job_id: str) -> discord.ui.View:
    """Under a text result (/describe): 🎨 Imagine this, then 🗑."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        _button(
            Verb.IMAGINE_THIS, job_id, label="Imagine this", emoji="🎨", style=discord.ButtonStyle.primary
        )
    )
    view.add_item(_button(Verb.DELETE, job_id, emoji="🗑", style=discord.ButtonStyle.danger))
    return view


def remix_modal(
    job_id: str, index: int, *, prompt: str, strength: float, indices: list[int], prompt_max: int
) -> discord.ui.Modal:
    """The ✏️ form. It is stopped before it is sent, so discord.py does not keep it in memory:
    its submit is handled from the raw interaction (:func:`modal_values`), also after a restart."""
    modal = discord.ui.Modal(title="Remix this image", custom_id=encode(Verb.REMIX_SUBMIT, job_id, index))
    modal.add_item(
        discord.ui.TextInput(
            label="Prompt (flags like --no work here too)",
            custom_id="prompt",
            style=discord.TextStyle.paragraph,
            default=prompt[:prompt_max] or None,
            max_length=min(prompt_max, 4000),
            required=True,
        )
    )
    modal.add_item(
        discord.ui.TextInput(
            label="Strength: how much of the image to keep (0–1)",
            custom_id="strength",
            default=f"{strength:g}",
            max_length=8,
            required=False,
        )
    )
    if len(indices) > 1:
        modal.add_item(
            discord.ui.TextInput(
                label=f"Which image ({min(indices) + 1}–{max(indices) + 1})",
                custom_id="image",
                default=str(index + 1),
                max_length=3,
                required=False,
            )
        )
    modal.stop()
    return modal


def _walk(components: list[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for component in components:
        if component.get("type") == 1:
            yield from _walk(component.get("components", []))
        elif component.get("type") == 18:
            yield from _walk([component["component"]])
        else:
            yield component


def modal_values(data: Mapping[str, Any]) -> dict[str, str]:
    """``{custom_id: value}`` of a MODAL_SUBMIT interaction's text inputs."""
    return {
        str(c["custom_id"]): str(c.get("value") or "")
        for c in _walk(list(data.get("components", [])))
        if "custom_id" in c
    }
