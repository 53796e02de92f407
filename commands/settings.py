"""``/settings``: a person's defaults (aspect ratio, style, number of images, model), for both front ends.

The settable options are the commands' own :class:`~commands.options.OptionSpec` values, so a
default is validated exactly like the option typed by hand, and names, ranges and help come from
one place. Discord offers them as the command's options (:data:`SETTINGS_FORM`), Slack as text
(``/settings ar=16:9 n=2``, ``--ar 16:9`` works too)::

    change = parse_settings_text("ar=16:9 n=2 style=default", limits)   # SettingsChange
    reply = await apply_settings(book, requester, change, limits, PLAIN, usage=SLACK_USAGE)
    built = await build_with_defaults(COMMANDS["imagine"], inv, defaults, limits)  # Built(request, used)
    defaults_note(built.defaults_used)   # "Your defaults from /settings: --ar 16:9, --n 2"

Defaults are applied in one place for every front end: ``services.intake.Intake.submit_typed``
reads them and the front end's build calls :func:`build_with_defaults`; the rule of which wins
is :func:`commands.building.applicable_defaults` (a typed option or a flag always does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from commands.building import applicable_defaults
from commands.errors import OptionError
from commands.info import SETTINGS
from commands.invocation import Invocation
from commands.options import ASPECT_RATIO, MODEL, SAMPLES, STYLE, OptionSpec, normalize_flag
from commands.replies import Markup
from commands.spec import CommandSpec
from commands.values import convert_value
from services.backends.base import BackendLimits
from services.intake import Built
from services.types import GenerationRequest, Operation, Requester
from services.user_settings import SETTABLE, UserSettingsBook

__all__ = [
    "DISCORD_USAGE",
    "RESET",
    "SETTINGS",
    "SETTINGS_FORM",
    "SETTINGS_OPTIONS",
    "SLACK_USAGE",
    "SettingsChange",
    "apply_settings",
    "build_with_defaults",
    "defaults_note",
    "parse_settings_text",
    "settings_text",
    "validate_changes",
]

SETTINGS_OPTIONS: tuple[OptionSpec, ...] = (ASPECT_RATIO, STYLE, SAMPLES, MODEL)
"""What a person may set, in the order replies list them (the names of ``services.user_settings.SETTABLE``)."""

_VALUE_MAX = 100  # a stored default is a ratio, a preset or a model id; nothing longer is kept
_CLEAR_WORDS = frozenset({"default", "none", "reset", "clear", "-"})
RESET = OptionSpec(
    name="reset",
    kind="choice",
    help="Forget one default, or all of them",
    choices=("all", *(o.name for o in SETTINGS_OPTIONS)),
)


async def _no_job(inv: Invocation, limits: BackendLimits) -> GenerationRequest:
    raise OptionError("/settings does not make pictures.")


SETTINGS_FORM = CommandSpec(
    name=SETTINGS.name,
    description=SETTINGS.description,
    options=(*SETTINGS_OPTIONS, RESET),
    build=_no_job,
    operation=Operation.IMAGINE,  # offered where pictures can be made; it never runs a job itself
)
"""The settable options as a form, so Discord's parameters come from the same declarations
(types, ranges, autocomplete for styles and models) as ``/imagine``'s."""

DISCORD_USAGE = "Set one with `/settings aspect_ratio:16:9`; forget one or all with `/settings reset:…`."
SLACK_USAGE = (
    "Set with `/settings ar=16:9 n=2 style=anime model=…`; forget one with `ar=default`, "
    "all with `/settings reset`."
)
if set(SETTABLE) != {o.name for o in SETTINGS_OPTIONS}:
    raise RuntimeError("commands.settings and services.user_settings disagree on what may be set")


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What a ``/settings`` call asks: raw values by option name (a clear word forgets one) and/or reset."""

    values: Mapping[str, object] = field(default_factory=dict)
    reset_all: bool = False

    @property
    def empty(self) -> bool:
        return not self.values and not self.reset_all


def _option_for(key: str) -> OptionSpec | None:
    wanted = normalize_flag(key)
    for option in SETTINGS_OPTIONS:
        if wanted in (normalize_flag(option.name), option.flag, *option.aliases):
            return option
    return None


def _names() -> str:
    return ", ".join(o.flag or o.name for o in SETTINGS_OPTIONS)


def parse_settings_text(text: str) -> SettingsChange:
    """``ar=16:9 n=2``, ``--ar 16:9 --n=2``, ``style=default``, ``reset`` or ``reset style`` (no I/O).

    Values are checked later (:func:`validate_changes`); unknown names are refused here.
    """
    words = text.split()
    values: dict[str, object] = {}
    reset_all = False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word.lower() in ("reset", "clear"):
            following = _option_for(words[i]) if i < len(words) else None
            if following is not None:
                values[following.name] = "default"
                i += 1
            else:
                reset_all = True
            continue
        key, sep, value = word.partition("=")
        if not sep and key.startswith(("-", "—", "–")) and i < len(words):
            value, i = words[i], i + 1
        elif not sep:
            raise OptionError(f"Write each setting as name=value, e.g. ar=16:9. You can set: {_names()}.")
        option = _option_for(key)
        if option is None:
            raise OptionError(f"There is no setting called {key.lstrip('-—–')!r}. You can set: {_names()}.")
        values[option.name] = value
    return SettingsChange(values, reset_all)


def validate_changes(values: Mapping[str, object], limits: BackendLimits) -> dict[str, object | None]:
    """Each value checked as the option typed by hand would be; a clear word becomes None (forget)."""
    changes: dict[str, object | None] = {}
    for name, raw in values.items():
        option = next((o for o in SETTINGS_OPTIONS if o.name == name), None)
        if option is None:
            raise OptionError(f"There is no setting called {name!r}. You can set: {_names()}.")
        if isinstance(raw, str) and raw.strip().lower() in _CLEAR_WORDS:
            changes[name] = None
            continue
        label = option.display
        if not option.supported_by(limits):
            raise OptionError(
                f"{label} isn't available on this backend, so it can't be a default.", option=name
            )
        value = convert_value(option, raw, limits, label=label)
        if isinstance(value, str) and len(value) > _VALUE_MAX:
            raise OptionError(
                f"{label} is too long for a default (at most {_VALUE_MAX} characters).", option=name
            )
        changes[name] = f"{value[0]}:{value[1]}" if isinstance(value, tuple) else value
    return changes


def _shown(option: OptionSpec, defaults: Mapping[str, object]) -> str:
    value = defaults.get(option.name)
    return f"`{value}`" if value is not None else "not set"


def settings_text(defaults: Mapping[str, object], markup: Markup, *, usage: str, changed: str = "") -> str:
    """The reply: what changed (if anything), every default, how to change them."""
    lines = [changed] if changed else []
    lines.append(markup.bold("Your defaults") + " (used when a command doesn't say):")
    lines += [f"• {o.name.replace('_', ' ')} ({o.display}): {_shown(o, defaults)}" for o in SETTINGS_OPTIONS]
    lines.append(usage)
    return "\n".join(lines)


async def apply_settings(
    book: UserSettingsBook,
    requester: Requester,
    change: SettingsChange,
    limits: BackendLimits,
    markup: Markup,
    *,
    usage: str,
) -> str:
    """Validate and store ``change`` for ``requester``; the reply. Bad values raise, nothing stored."""
    changes = validate_changes(change.values, limits)  # before any write: all or nothing
    said: list[str] = []
    if change.reset_all:
        await book.reset(requester)
        said.append("All your defaults are forgotten.")
    if changes:
        await book.update(requester, changes)
        set_ = [f"{_label(n)} {v}" for n, v in changes.items() if v is not None]
        cleared = [_label(n) for n, v in changes.items() if v is None]
        if set_:
            said.append("Saved: " + ", ".join(set_) + ".")
        if cleared:
            said.append("Forgotten: " + ", ".join(cleared) + ".")
    return settings_text(await book.get(requester), markup, usage=usage, changed=" ".join(said))


def _label(name: str) -> str:
    option = next(o for o in SETTINGS_OPTIONS if o.name == name)
    return option.display


async def build_with_defaults(
    spec: CommandSpec, inv: Invocation, defaults: Mapping[str, object], limits: BackendLimits
) -> Built:
    """``spec.build`` with the person's defaults where the call says nothing, and which were used.

    A stored default this backend refuses now (the operator changed models) is refused with
    the option's usual message plus where it came from, so the person knows what to change.
    """
    inv = replace(inv, defaults=dict(defaults))
    used = applicable_defaults(inv, spec, limits)
    try:
        request = await spec.build(inv, limits)
    except OptionError as error:
        if error.option not in used:
            raise
        hint = f" That is your default from /settings; change it there or clear it ({_label(error.option)} default)."
        raise OptionError(
            error.user_message + hint, option=error.option, log_detail=error.log_detail
        ) from error
    return Built(request, tuple(f"{_label(n)} {v}" for n, v in used.items()))


def defaults_note(used: object) -> str:
    """``"Your defaults from /settings: --ar 16:9, --n 2"`` for a result, or ``""`` when none applied."""
    if not isinstance(used, list | tuple) or not used:
        return ""
    return "Your defaults from /settings: " + ", ".join(str(u) for u in used)
