"""Restart-proof buttons and the remix modal.

All state a button needs is in its ``custom_id`` (at most 100 characters)::

    easel:u:<job_id>:<index>     U1…Un   upscale image <index> (0-based) of the job
    easel:v:<job_id>:<index>     V1…Vn   variation: remix that image with the same prompt
    easel:r:<job_id>             🔁      reroll: the same request with a new seed
    easel:m:<job_id>:<index>     ✏️      open the remix modal (prompt + strength), from that image
    easel:d:<job_id>:<user_id>   🗑      delete (the requester, or members with Manage Messages)
    easel:i:<job_id>             🎨      /imagine the text of a /describe result, for whoever presses it
    easel:mm:<job_id>:<index>    —       the remix modal's submit

:class:`ResultButton` is a :class:`discord.ui.DynamicItem`, registered once with the bot, so a
message posted before a restart still works afterwards: discord.py matches the ``custom_id``
against the template and the job is looked up in SQLite.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord

from services.types import Operation

if TYPE_CHECKING:
    from bot.discord.handlers import DiscordHandlers

__all__ = [
    "MODAL_PREFIX",
    "ButtonAction",
    "ResultButton",
    "is_stale_custom_id",
    "modal_custom_id",
    "modal_values",
    "parse_modal_custom_id",
    "remix_modal",
    "result_view",
    "text_view",
]

_JOB = r"[0-9A-Za-z_-]{1,64}"
_TEMPLATE = rf"easel:(?P<verb>[uvrmdi]):(?P<job>{_JOB})(?::(?P<arg>\d{{1,20}}))?"
MODAL_PREFIX = "easel:mm:"
_MODAL_RE = re.compile(rf"easel:mm:(?P<job>{_JOB}):(?P<index>\d{{1,4}})")
_BUTTON_RE = re.compile(_TEMPLATE)
_PER_ROW = 5


@dataclass(frozen=True, slots=True)
class ButtonAction:
    """A decoded ``custom_id``: ``verb`` is one of ``u v r m d i``; ``arg`` the index or user id."""

    verb: str
    job_id: str
    arg: int | None = None

    @property
    def custom_id(self) -> str:
        return f"easel:{self.verb}:{self.job_id}" + (f":{self.arg}" if self.arg is not None else "")


def _handlers(interaction: discord.Interaction[Any]) -> DiscordHandlers:
    return interaction.client.easel_handlers  # type: ignore[attr-defined, no-any-return]


class ResultButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=_TEMPLATE):
    """One button under a result; clicks are routed to :class:`bot.discord.handlers.DiscordHandlers`."""

    def __init__(
        self,
        action: ButtonAction,
        *,
        label: str | None = None,
        emoji: str | None = None,
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        button: discord.ui.Button[Any] = discord.ui.Button(
            custom_id=action.custom_id, label=label, emoji=emoji, style=style, row=row
        )
        super().__init__(button)
        self.action = action

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> ResultButton:
        arg = match["arg"]
        return cls(ButtonAction(match["verb"], match["job"], int(arg) if arg is not None else None))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _handlers(interaction).on_button(interaction, self.action)


def result_view(job_id: str, indices: list[int], operation: Operation, requester_id: int) -> discord.ui.View:
    """U/V per image, then 🔁 ✏️ 🗑 (upscaled results: ✏️ 🗑 only)."""
    view = discord.ui.View(timeout=None)
    row = 0
    if operation is not Operation.UPSCALE:
        for verb in ("u", "v"):
            for start in range(0, len(indices), _PER_ROW):
                for index in indices[start : start + _PER_ROW]:
                    action = ButtonAction(verb, job_id, index)
                    view.add_item(ResultButton(action, label=f"{verb.upper()}{index + 1}", row=row))
                row += 1
        view.add_item(ResultButton(ButtonAction("r", job_id), emoji="🔁", row=row))
    first = indices[0] if indices else 0
    view.add_item(ResultButton(ButtonAction("m", job_id, first), emoji="✏️", row=row))
    view.add_item(
        ResultButton(
            ButtonAction("d", job_id, requester_id), emoji="🗑", style=discord.ButtonStyle.danger, row=row
        )
    )
    return view


def text_view(job_id: str, requester_id: int) -> discord.ui.View:
    """Under a text result (/describe): 🎨 Imagine this, then 🗑."""
    view = discord.ui.View(timeout=None)
    view.add_item(
        ResultButton(
            ButtonAction("i", job_id), label="Imagine this", emoji="🎨", style=discord.ButtonStyle.primary
        )
    )
    view.add_item(
        ResultButton(ButtonAction("d", job_id, requester_id), emoji="🗑", style=discord.ButtonStyle.danger)
    )
    return view


def is_stale_custom_id(custom_id: str, *, modal: bool) -> bool:
    """An ``easel:`` id that no current button (or modal, for a modal submit) uses: an older
    version's, or a forged one."""
    if not custom_id.startswith("easel:"):
        return False
    return (_MODAL_RE if modal else _BUTTON_RE).fullmatch(custom_id) is None


def modal_custom_id(job_id: str, index: int) -> str:
    return f"{MODAL_PREFIX}{job_id}:{index}"


def parse_modal_custom_id(custom_id: str) -> tuple[str, int] | None:
    match = _MODAL_RE.fullmatch(custom_id)
    return (match["job"], int(match["index"])) if match else None


def remix_modal(
    job_id: str, index: int, *, prompt: str, strength: float, indices: list[int], prompt_max: int
) -> discord.ui.Modal:
    """The ✏️ form. It is stopped before it is sent, so discord.py does not keep it in memory:
    its submit is handled from the raw interaction (:func:`modal_values`), also after a restart."""
    modal = discord.ui.Modal(title="Remix this image", custom_id=modal_custom_id(job_id, index))
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
