"""Help texts generated from the option declarations: /help on every front end, the README table.

::

    FLAG_HELP                            # the grammar + prompt tips, fits one Discord message
    command_overview(limits)             # the command list: (command, summary, takes_pictures)
    command_help(COMMANDS["imagine"], limits)   # one command, with this backend's ranges
    flags_table_markdown()               # the README's flag table (``limits`` for concrete ranges)

Formatting is the subset Discord Markdown and Slack mrkdwn share: backticks and plain lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from commands import COMMANDS, KNOWN_OPTIONS
from commands.info import INFO_COMMANDS
from commands.options import OptionSpec
from commands.sizes import format_size
from commands.spec import CommandSpec
from services.backends.base import BackendLimits

__all__ = [
    "FLAG_HELP",
    "PROMPT_TIPS",
    "OverviewLine",
    "command_help",
    "command_overview",
    "describe_default",
    "describe_values",
    "flags_table_markdown",
]

PROMPT_TIPS = (
    "Describe the picture: subject, setting, style, light. "
    "`a lighthouse at dusk, oil painting, warm light`\n"
    "Weights: `a castle, sunset::0.5 fog::-0.5` — `::N` after a part sets its weight (1 if left out; "
    "negative means avoid it)."
)

_GRAMMAR = (
    "Flags go anywhere in the prompt: `--ar 16:9`, `--ar=16:9` and `—ar 16:9` all work. "
    "`--no` takes everything up to the next flag and may repeat."
)


def _commands_of(option: OptionSpec) -> list[CommandSpec]:
    return [c for c in COMMANDS.values() if c.takes(option)]


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def describe_values(option: OptionSpec, limits: BackendLimits | None = None) -> str:
    """What values an option takes: ``"1–10"``, ``"anime, photographic, …"``, or where they come from."""
    if option.kind == "image":
        return "an uploaded image"
    if option.choices_from is not None and limits is None:
        return f"depends on the backend (`{option.choices_from}`)"
    if option.limit is not None and limits is None:
        return f"depends on the backend (`{option.limit}`)"
    if limits is not None:
        choices = option.choices_for(limits)
        if choices:
            shown = ", ".join(str(c) for c in choices[:12])
            return shown + (", …" if len(choices) > 12 else "")
        if option.choices_from is not None and option.kind == "choice":
            return "not available on this backend"
        bounds = option.range_for(limits)
        if bounds is not None:
            return f"{_num(bounds[0])}–{_num(bounds[1])}"
    elif option.choices:
        return ", ".join(str(c) for c in option.choices)
    elif option.min is not None and option.max is not None:
        return f"{_num(option.min)}–{_num(option.max)}"
    if option.example:
        return f"{option.metavar}, e.g. {option.example}"
    return option.metavar or "text"


def describe_default(option: OptionSpec, limits: BackendLimits | None = None) -> str:
    if option.name == "negative":
        return "—"
    if option.format == "ratio":
        return "the default size"
    if option.name == "mask_source":
        return "white with a mask, else alpha"
    if limits is None and option.default_from is not None:
        return f"backend's `{option.default_from}`"
    value = option.default_for(limits) if limits is not None else option.default
    if value is None:
        return "random" if option.name == "seed" else "backend default" if option.flag else "—"
    if isinstance(value, tuple):
        return format_size(value)  # type: ignore[arg-type]
    if isinstance(value, float):
        return _num(value)
    return str(value)


def _flag_line(option: OptionSpec) -> str:
    aliases = f" (or {', '.join(option.flag_names[1:])})" if len(option.flag_names) > 1 else ""
    cmds = _commands_of(option)
    where = "" if len(cmds) >= len(COMMANDS) - 1 else " — " + ", ".join(f"/{c.name}" for c in cmds)
    return f"`{option.flag_names[0]} {option.metavar}` {option.help}{aliases}{where}"


def _flag_help() -> str:
    """Shared flags get a line each; flags of a single command are grouped under it, so the
    text stays one Discord message however many commands are registered."""
    lines = ["*Prompt tips*", PROMPT_TIPS, "", "*Flags*", _GRAMMAR]
    own: dict[str, list[OptionSpec]] = {}
    for option in KNOWN_OPTIONS.options:
        cmds = _commands_of(option)
        if option.flag is None or not cmds:
            continue
        if len(cmds) == 1 and len(COMMANDS) > 2:
            own.setdefault(cmds[0].name, []).append(option)
        else:
            lines.append(f"• {_flag_line(option)}")
    for name, options in own.items():
        flags = ", ".join(f"`{o.flag_names[0]} {o.metavar}`" for o in options)
        lines.append(f"• /{name} also takes {flags}")
    return "\n".join(lines)


FLAG_HELP: str = _flag_help()
"""The grammar and prompt tips for /help (under 2000 characters: one Discord message)."""


@dataclass(frozen=True, slots=True)
class OverviewLine:
    """One line of the help overview; ``takes_pictures``: the command works on an uploaded picture."""

    command: str
    summary: str
    takes_pictures: bool = False


def command_overview(limits: BackendLimits) -> tuple[OverviewLine, ...]:
    """The commands this backend can run, then ``/quota`` and ``/help``: every /help's command list."""
    lines = [
        OverviewLine(c.name, c.description, takes_pictures=bool(c.needs_images))
        for c in COMMANDS.values()
        if c.available_on(limits)
    ]
    return (*lines, *(OverviewLine(i.name, i.summary) for i in INFO_COMMANDS))


def command_help(command: CommandSpec, limits: BackendLimits | None = None) -> str:
    """Help for one command, with this backend's ranges and choices when ``limits`` is given."""
    lines = [f"*/{command.name}* — {command.description}"]
    if limits is not None and not command.available_on(limits):
        lines.append("Not available on this backend.")
        return "\n".join(lines)
    for option in command.options:
        if option.flag is None:
            need = "required" if option.required else "optional"
            lines.append(f"• `{option.name}` ({need}): {option.help}")
            continue
        if limits is not None and not option.supported_by(limits):
            continue
        values = describe_values(option, limits)
        default = describe_default(option, limits)
        lines.append(
            f"• `{option.flag_names[0]} {option.metavar}` {option.help}. Values: {values}; default: {default}."
        )
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def flags_table_markdown(limits: BackendLimits | None = None) -> str:
    """The README table of text flags: one row per option that has a flag.

    Without ``limits`` the ranges that depend on the backend say which ``BackendLimits`` field
    gives them; with ``limits`` they show that backend's values.
    """
    rows = [
        "| flag | aliases | typed option | commands | values | default | what it does |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for option in KNOWN_OPTIONS.options:
        if option.flag is None:
            continue
        cmds = _commands_of(option)
        if not cmds:
            continue
        rows.append(
            "| "
            + " | ".join(
                _cell(c)
                for c in (
                    f"`--{option.flag} {option.metavar}`",
                    ", ".join(f"`{a}`" for a in option.flag_names[1:]) or "—",
                    f"`{option.name}`" if option.typed else "— (flag only)",
                    ", ".join(f"/{c.name}" for c in cmds),
                    describe_values(option, limits),
                    describe_default(option, limits),
                    option.help,
                )
            )
            + " |"
        )
    return "\n".join(rows)
