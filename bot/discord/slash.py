"""Discord application commands generated from ``commands.COMMANDS``.

What each parameter is — type, range, choices, description, required — comes from the command's
form fields (:mod:`commands.forms`); this module only writes them the way discord.py reads them and
applies Discord's caps. discord.py reads a command's parameters from its callback's signature, so
each command gets a callback whose ``__signature__`` is built from the fields::

    /imagine prompt:<str> aspect_ratio:<choice> samples:<1–10> negative:<str> style:<autocomplete> seed:<int>

Lists that follow the backend (style presets, models) use autocomplete, which is looked up at
request time and has no 25-entry cap; other lists and aspect ratios use choices.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import discord
from discord import app_commands

from commands import CommandSpec, OptionSpec
from commands.forms import FormField, command_form, command_limits, form_field, matching_choices
from services.backends.base import BackendLimits

__all__ = ["build_app_command"]

SlashHandler = Callable[[CommandSpec, discord.Interaction[Any], dict[str, Any]], Awaitable[None]]
Completer = Callable[[discord.Interaction[Any], str], Coroutine[Any, Any, list[app_commands.Choice[Any]]]]

_MAX_CHOICES = 25
_MAX_NAME = 100  # a choice's name
_INT_MAX = 2**53  # Discord's integer options are JSON doubles
_TYPES: dict[str, Any] = {"text": str, "integer": int, "decimal": float, "boolean": bool}


def _annotation(field: FormField) -> Any:
    if field.value_type == "image":
        return discord.Attachment
    kind = _TYPES[field.value_type]
    low, high = field.min_value, field.max_value
    if kind not in (int, float) or (low is None and high is None):
        return kind
    if kind is int:
        return app_commands.Range[
            int,
            -_INT_MAX if low is None else int(max(low, -_INT_MAX)),
            _INT_MAX if high is None else int(min(high, _INT_MAX)),
        ]
    return app_commands.Range[float, low, high]


def _choice(label: str, value: Any) -> app_commands.Choice[Any]:
    return app_commands.Choice(name=label[:_MAX_NAME], value=value)


def _static_choices(field: FormField) -> list[app_commands.Choice[Any]] | None:
    if field.choices_follow_backend or not 0 < len(field.offered) <= _MAX_CHOICES:
        return None
    return [_choice(c.label, c.value) for c in field.offered]


def _autocompleter(
    spec: CommandSpec, option: OptionSpec, limits_of: Callable[[], BackendLimits]
) -> Completer:
    async def complete(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[Any]]:
        # The backend's list now, not at registration; models: only those that can run this command.
        field = form_field(option, command_limits(spec, limits_of()))
        found = matching_choices(field, current)[:_MAX_CHOICES] if field is not None else ()
        return [_choice(c.label, c.value) for c in found]

    return complete


def build_app_command(
    spec: CommandSpec, limits: BackendLimits, handler: SlashHandler, limits_of: Callable[[], BackendLimits]
) -> app_commands.Command[Any, ..., None]:
    """One ``app_commands.Command`` for ``spec``; invoking it calls ``handler(spec, interaction, values)``."""
    fields = command_form(spec, limits).fields

    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        await handler(spec, interaction, values)

    parameters = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    for field in fields:
        parameters.append(
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=_annotation(field),
                default=inspect.Parameter.empty if field.required else None,
            )
        )
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__name__ = callback.__qualname__ = f"easel_{spec.name}"
    app_commands.describe(**{f.name: f.description for f in fields})(callback)
    choices = {f.name: c for f in fields if (c := _static_choices(f))}
    if choices:
        app_commands.choices(**choices)(callback)
    command: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=spec.name, description=spec.description, callback=callback
    )
    for field in fields:
        option = spec.option(field.name)
        if field.choices_follow_backend and option is not None:
            command.autocomplete(field.name)(_autocompleter(spec, option, limits_of))  # type: ignore[arg-type]
    return command
