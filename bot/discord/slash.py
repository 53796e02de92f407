"""Discord application commands generated from ``commands.COMMANDS``.

Names, types, ranges, choices and help texts come from each :class:`commands.OptionSpec` and the
backend's :class:`BackendLimits`; nothing is restated here. discord.py reads a command's
parameters from its callback's signature, so each command gets a callback whose
``__signature__`` is built from the specs::

    /imagine prompt:<str> aspect_ratio:<choice> samples:<1–10> negative:<str> style:<autocomplete> seed:<int>

Backend-dependent lists (``choices_from``: style presets, models) use autocomplete, which follows
the backend at request time and has no 25-entry cap; static lists and aspect ratios use choices.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from commands import CommandSpec, OptionSpec
from commands.sizes import parse_ratio, ratio_value, size_for_ratio
from services.backends.base import BackendLimits

__all__ = ["build_app_command", "option_parameters", "ratio_choices", "suggested_ratios"]

SlashHandler = Callable[[CommandSpec, discord.Interaction[Any], dict[str, Any]], Awaitable[None]]

_MAX_CHOICES = 25
_AUTOCOMPLETE_KINDS = ("choice", "str")
# Shapes people ask for, used to label the choices on backends that render any size.
_COMMON_RATIOS = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")
_DISCORD_INT_MAX = 2**53


def _orientation(w: float, h: float) -> str:
    return "square" if math.isclose(w, h, rel_tol=0.02) else "landscape" if w > h else "portrait"


def suggested_ratios(limits: BackendLimits) -> list[tuple[str, str]]:
    """``[(label, ratio)]`` offered as ``aspect_ratio`` choices on this backend."""
    if limits.aspect_ratios:
        return [(f"{r} {_orientation(ratio_value(r), 1)}", r) for r in limits.aspect_ratios]
    if limits.allowed_sizes:
        out: list[tuple[str, str]] = []
        for w, h in limits.allowed_sizes:
            g = math.gcd(w, h)
            ratio = f"{w // g}:{h // g}"
            out.append((f"{ratio} {_orientation(w, h)} ({w}×{h})", ratio))
        return out
    out = []
    for ratio in _COMMON_RATIOS:
        w, h = size_for_ratio(parse_ratio(ratio), limits)
        out.append((f"{ratio} {_orientation(w, h)} ({w}×{h})", ratio))
    return out


def ratio_choices(limits: BackendLimits) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=label[:100], value=value) for label, value in suggested_ratios(limits)][
        :_MAX_CHOICES
    ]


def _bounded(kind: type[int] | type[float], bounds: tuple[float, float] | None) -> Any:
    if bounds is None:
        return kind
    low, high = bounds
    if kind is int:
        low = max(low, -_DISCORD_INT_MAX) if math.isfinite(low) else -_DISCORD_INT_MAX
        high = min(high, _DISCORD_INT_MAX) if math.isfinite(high) else _DISCORD_INT_MAX
        return app_commands.Range[int, int(low), int(high)]
    return app_commands.Range[
        float, low if math.isfinite(low) else None, high if math.isfinite(high) else None
    ]


def _annotation(option: OptionSpec, limits: BackendLimits) -> Any:
    if option.kind == "image":
        return discord.Attachment
    if option.kind == "bool":
        return bool
    if option.kind == "int":
        return int if option.choices_for(limits) else _bounded(int, option.range_for(limits))
    if option.kind == "float":
        return _bounded(float, option.range_for(limits))
    choices = option.choices_for(limits)
    if choices and all(isinstance(c, int) for c in choices):
        return int
    return str


def _uses_autocomplete(option: OptionSpec) -> bool:
    return option.choices_from is not None and option.kind in _AUTOCOMPLETE_KINDS


def _static_choices(option: OptionSpec, limits: BackendLimits) -> list[app_commands.Choice[Any]] | None:
    if option.format == "ratio":
        return ratio_choices(limits)
    if _uses_autocomplete(option):
        return None
    choices = option.choices_for(limits)
    if not choices or len(choices) > _MAX_CHOICES:
        return None
    return [app_commands.Choice(name=str(c), value=c) for c in choices]


def option_parameters(spec: CommandSpec, limits: BackendLimits) -> list[OptionSpec]:
    """The typed options Discord shows for ``spec`` on this backend, required ones first."""
    offered = [o for o in spec.typed_options if o.supported_by(limits)]
    return sorted(offered, key=lambda o: not o.required)


Completer = Callable[[discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[Any]]]]


def _autocompleter(option: OptionSpec, limits_of: Callable[[], BackendLimits]) -> Completer:
    async def complete(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[Any]]:
        needle = current.strip().lower()
        values = option.choices_for(limits_of())
        starts = [v for v in values if str(v).lower().startswith(needle)]
        inside = [v for v in values if needle in str(v).lower() and v not in starts]
        return [app_commands.Choice(name=str(v)[:100], value=v) for v in (starts + inside)[:_MAX_CHOICES]]

    return complete


def build_app_command(
    spec: CommandSpec, limits: BackendLimits, handler: SlashHandler, limits_of: Callable[[], BackendLimits]
) -> app_commands.Command[Any, ..., None]:
    """One ``app_commands.Command`` for ``spec``; invoking it calls ``handler(spec, interaction, values)``."""
    options = option_parameters(spec, limits)

    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        await handler(spec, interaction, values)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for option in options:
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(option, limits),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"easel_{spec.name}"
    app_commands.describe(**{o.name: o.help for o in options})(callback)
    choices = {o.name: c for o in options if (c := _static_choices(o, limits))}
    if choices:
        app_commands.choices(**choices)(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name, description=spec.description, callback=callback
    )
    for option in options:
        if _uses_autocomplete(option):
            command.autocomplete(option.name)(_autocompleter(option, limits_of))  # type: ignore[arg-type]
    return command
