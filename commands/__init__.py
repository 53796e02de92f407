"""The slash commands: options declared once, the text-flag grammar, and ``build()``.

::

    from commands import COMMANDS, Invocation, parse_prompt

    spec = COMMANDS["imagine"]                      # CommandSpec: name, description, options, …
    request = await spec.build(Invocation(text="a fox --ar 16:9"), backend.limits)
    preview = parse_prompt("a fox --ar 16:9", "imagine", backend.limits)  # ParsedPrompt

Adding a command: write ``commands/<name>.py`` with ``SPEC`` and ``build``, then add the
module to ``_MODULES`` below. Help texts live in :mod:`commands.help`.
"""

from __future__ import annotations

from types import ModuleType

from commands import cutout, describe, imagine, inpaint, outpaint, remix, replace, upscale
from commands.errors import OptionError, OptionUnsupported
from commands.flags import ParsedPrompt, parse_text
from commands.invocation import Invocation
from commands.options import ALL_OPTIONS, OptionCatalogue, OptionSpec
from commands.registry import register
from commands.spec import CommandSpec
from services.backends.base import BackendLimits
from services.types import GenerationRequest

__all__ = [
    "ALL_OPTIONS",
    "COMMANDS",
    "KNOWN_OPTIONS",
    "CommandSpec",
    "Invocation",
    "OptionError",
    "OptionSpec",
    "OptionUnsupported",
    "ParsedPrompt",
    "available_commands",
    "build_request",
    "get_command",
    "parse_prompt",
    "picture_commands",
]

_MODULES: tuple[ModuleType, ...] = (
    imagine,
    remix,
    inpaint,
    upscale,
    outpaint,
    describe,
    replace,
    cutout,
)

COMMANDS: dict[str, CommandSpec] = {m.SPEC.name: m.SPEC for m in _MODULES}

KNOWN_OPTIONS: OptionCatalogue = register(COMMANDS)
"""Every option of every command: text flags are recognised, suggested and documented from it."""


def get_command(name: str) -> CommandSpec:
    """The command called ``name`` (``"imagine"`` or ``"/imagine"``); ``OptionError`` if none."""
    spec = COMMANDS.get(name.strip().lstrip("/").lower())
    if spec is None:
        raise OptionError(f"There is no /{name.strip().lstrip('/')} command.")
    return spec


def available_commands(limits: BackendLimits) -> tuple[CommandSpec, ...]:
    """The commands this backend can run (front ends register only these)."""
    return tuple(c for c in COMMANDS.values() if c.available_on(limits))


def picture_commands(limits: BackendLimits) -> tuple[CommandSpec, ...]:
    """The available commands that start from a picture someone already has (Slack's message
    shortcut offers these)."""
    return tuple(c for c in available_commands(limits) if "image" in c.needs_images)


def parse_prompt(text: str, command_name: str, limits: BackendLimits) -> ParsedPrompt:
    """Parse and validate prompt text with flags for ``command_name`` (no images, no I/O).

    For previews and early validation in front ends; raises the same ``InvalidRequest``
    messages ``build()`` would for the text.
    """
    return parse_text(text, get_command(command_name), limits)


async def build_request(command_name: str, inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    """``await COMMANDS[command_name].build(inv, limits)``."""
    return await get_command(command_name).build(inv, limits)
