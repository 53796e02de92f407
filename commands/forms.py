"""Form fields derived from the option declarations, for every front end's forms.

Discord offers a command's typed options as app-command parameters, Slack as modal inputs. What
each field is — its value type, bounds, choices (and whether they follow the backend), label,
hint, placeholder, default and whether it is required — is derived here, once, from each
:class:`OptionSpec` and the backend's :class:`BackendLimits`; front ends only turn a
:class:`FormField` into their platform's markup and apply their platform's own caps::

    form = command_form(COMMANDS["imagine"], limits)
    [f.name for f in form.fields]      # ["prompt", "aspect_ratio", "samples", "negative", "style", …]
    form.field("samples")              # FormField(value_type="integer", min_value=1, max_value=10, …)
    form.flag_only                     # ("--size", "--steps", …): taken in the prompt text only
    form_values(spec, {"prompt": "a fox", "seed": "", "image": [file]})   # FormValues(text, options, files)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, Literal, TypeVar

from commands.help import describe_default, describe_values
from commands.options import Choice, OptionSpec
from commands.sizes import parse_ratio, ratio_value, size_for_ratio
from commands.spec import CommandSpec
from services.backends.base import BackendLimits

__all__ = [
    "CommandForm",
    "FieldChoice",
    "FormField",
    "FormValues",
    "ValueType",
    "command_form",
    "command_limits",
    "form_field",
    "form_title",
    "form_values",
    "matching_choices",
    "suggested_ratios",
]

ValueType = Literal["text", "integer", "decimal", "boolean", "image"]
Upload = TypeVar("Upload")
_VALUE_TYPES: dict[str, ValueType] = {
    "int": "integer",
    "float": "decimal",
    "bool": "boolean",
    "image": "image",
}

# Shapes people ask for, used to label the ratio suggestions on backends that render any size.
_COMMON_RATIOS = ("1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16", "21:9", "9:21")


@dataclass(frozen=True, slots=True)
class FieldChoice:
    """One value a field offers, with the words shown for it (``"16:9 landscape (1344×768)"``)."""

    label: str
    value: Choice


@dataclass(frozen=True, slots=True)
class FormField:
    """One input of a command's form on this backend.

    * ``value_type`` — what the value is; ``"image"`` is an upload.
    * ``label`` — the field's caption (``"Aspect ratio (--ar)"``); ``description`` — the option's
      help text (Discord's parameter description, Slack's hint).
    * ``choices`` — a closed list: the form picks one. ``suggestions`` — values offered for a field
      that is typed as text (aspect ratios, model ids); the command still checks what comes back.
    * ``choices_follow_backend`` — the list is a catalogue of the backend's names (style presets,
      models, upscale modes): it may be long and change with the model, so a front end that can
      should look it up as the user types (Discord autocomplete) rather than fix it in the command.
    * ``min_value``/``max_value`` — inclusive bounds of a number without a list (None: open).
    * ``placeholder`` — what an empty input shows: ``"default: 1"`` or ``"e.g. 16:9"``.
    * ``multiline``/``max_length`` — for the prompt.
    """

    name: str
    value_type: ValueType
    label: str
    description: str
    required: bool
    choices: tuple[FieldChoice, ...] = ()
    suggestions: tuple[FieldChoice, ...] = ()
    choices_follow_backend: bool = False
    min_value: float | None = None
    max_value: float | None = None
    placeholder: str = ""
    multiline: bool = False
    max_length: int | None = None

    @property
    def offered(self) -> tuple[FieldChoice, ...]:
        """Every value the field offers, closed list or suggestions."""
        return self.choices or self.suggestions


@dataclass(frozen=True, slots=True)
class CommandForm:
    """A command's form on this backend: its fields (required ones first) and what else it takes.

    ``flag_only`` — main spellings of the flags this backend takes that have no field
    (``--size``, ``--steps``, …): front ends tell users they work in the prompt text.
    """

    command: str
    title: str
    fields: tuple[FormField, ...]
    flag_only: tuple[str, ...]
    takes_prompt: bool

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def image_fields(self) -> tuple[FormField, ...]:
        """The uploads of the form (``image``, ``mask``)."""
        return tuple(f for f in self.fields if f.value_type == "image")


def _orientation(w: float, h: float) -> str:
    return "square" if math.isclose(w, h, rel_tol=0.02) else "landscape" if w > h else "portrait"


def suggested_ratios(limits: BackendLimits) -> tuple[FieldChoice, ...]:
    """The aspect ratios offered on this backend, labelled with their shape (and size when known)."""
    if limits.aspect_ratios:
        return tuple(FieldChoice(f"{r} {_orientation(ratio_value(r), 1)}", r) for r in limits.aspect_ratios)
    if limits.allowed_sizes:
        sizes = [(f"{w // math.gcd(w, h)}:{h // math.gcd(w, h)}", (w, h)) for w, h in limits.allowed_sizes]
    else:
        sizes = [(r, size_for_ratio(parse_ratio(r), limits)) for r in _COMMON_RATIOS]
    return tuple(FieldChoice(f"{r} {_orientation(w, h)} ({w}×{h})", r) for r, (w, h) in sizes)


def form_title(spec: CommandSpec) -> str:
    """How forms and pickers name a command: ``"Remix"``."""
    return spec.name[0].upper() + spec.name[1:]


def _label(option: OptionSpec) -> str:
    words = option.name.replace("_", " ")
    label = words[0].upper() + words[1:]
    return f"{label} ({option.flag_names[0]})" if option.flag_names else label


def _value_type(option: OptionSpec, choices: tuple[Choice, ...]) -> ValueType:
    if option.kind in _VALUE_TYPES:
        return _VALUE_TYPES[option.kind]
    if option.kind == "choice" and choices and all(isinstance(c, int) for c in choices):
        return "integer"
    return "text"


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def form_field(option: OptionSpec, limits: BackendLimits) -> FormField | None:
    """The field of ``option`` on this backend, or None when the form does not offer it
    (flag-only options, options this backend cannot take, a choice without choices)."""
    if not option.typed or not option.supported_by(limits):
        return None
    values = option.choices_for(limits)
    if option.kind == "choice" and not values:
        return None
    value_type = _value_type(option, values)
    listed = tuple(FieldChoice(str(v), v) for v in values)
    closed = option.kind in ("choice", "int") and bool(values)
    bounds = option.range_for(limits) if option.kind in ("int", "float") and not closed else None
    if option.format == "ratio":
        listed = suggested_ratios(limits)
    if value_type in ("image", "boolean"):
        placeholder = ""
    elif closed or value_type in ("integer", "decimal"):
        placeholder = f"default: {describe_default(option, limits)}"
    else:
        placeholder = f"e.g. {option.example}" if option.example else describe_values(option, limits)
    prompt = option.name == "prompt"
    return FormField(
        name=option.name,
        value_type=value_type,
        label=_label(option),
        description=option.help,
        required=option.required,
        choices=listed if closed else (),
        suggestions=() if closed else listed,
        choices_follow_backend=option.choices_from is not None and option.kind in ("choice", "str"),
        min_value=_finite(bounds[0]) if bounds else None,
        max_value=_finite(bounds[1]) if bounds else None,
        placeholder=placeholder,
        multiline=prompt,
        max_length=limits.max_prompt_chars if prompt else None,
    )


def command_limits(spec: CommandSpec, limits: BackendLimits) -> BackendLimits:
    """``limits`` with ``models`` narrowed to the models that can run ``spec``: with several services
    enabled, /inpaint's model picker offers no model that cannot inpaint."""
    models = limits.models_for(spec.operation)
    return limits if models == limits.models else replace(limits, models=models)


def command_form(spec: CommandSpec, limits: BackendLimits) -> CommandForm:
    """The form of ``spec`` on this backend (required fields first, as Discord requires)."""
    limits = command_limits(spec, limits)
    fields = [f for o in spec.typed_options if (f := form_field(o, limits)) is not None]
    flag_only = tuple(o.flag_names[0] for o in spec.flag_options if not o.typed and o.supported_by(limits))
    return CommandForm(
        command=spec.name,
        title=form_title(spec),
        fields=tuple(sorted(fields, key=lambda f: not f.required)),
        flag_only=flag_only,
        takes_prompt=spec.takes_prompt,
    )


def matching_choices(field: FormField, typed: str) -> tuple[FieldChoice, ...]:
    """The field's values that match what the user has typed so far: prefix matches first."""
    needle = typed.strip().lower()
    values = field.offered
    starts = [c for c in values if str(c.value).lower().startswith(needle)]
    inside = [c for c in values if needle in str(c.value).lower() and c not in starts]
    return tuple(starts + inside)


@dataclass(frozen=True)
class FormValues(Generic[Upload]):
    """A submitted form: the prompt text, the other options given (raw), and the uploads by field."""

    text: str = ""
    options: dict[str, object] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)


def form_values(spec: CommandSpec, submitted: Mapping[str, Any]) -> FormValues[Any]:
    """Sort what a form sent by field; empty inputs (``None``, ``""``, unchecked, no file) mean
    "not given", so flags typed in the prompt never clash with a field's default."""
    text, options, files = "", {}, {}
    for name, value in submitted.items():
        option = spec.option(name)
        if option is None or value is None or value is False or value == "" or value == []:
            continue
        if option.kind == "image":
            files[name] = value
        elif name == "prompt":
            text = str(value)
        else:
            options[name] = value
    return FormValues(text=text, options=options, files=files)
