"""Every option of every command, declared once.

Discord app-command parameters, Slack help and modal fields, the CLI's argparse and the
README table are all generated from these :class:`OptionSpec` values; nothing else
restates an option's name, range, default or help text::

    from commands.options import SEED
    SEED.flag_names            # ("--seed",)
    SEED.range_for(limits)     # (0, 4294967295), from BackendLimits.seed
    STYLE.choices_for(limits)  # limits.style_presets

Ranges and choice lists that depend on the backend name a :class:`BackendLimits` field
(``limit="steps"``, ``choices_from="style_presets"``) instead of a constant, so switching
backend or model changes what users may ask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Literal

from services.backends.base import BackendLimits
from services.types import MaskSource

__all__ = [
    "ALL_OPTIONS",
    "ASPECT_RATIO",
    "CATALOGUE",
    "CFG_SCALE",
    "COMMON_OPTIONS",
    "HELP_MAX_CHARS",
    "IMAGE",
    "MASK",
    "MASK_SOURCE",
    "MODEL",
    "NAME_RE",
    "NEGATIVE",
    "PROMPT",
    "SAMPLER",
    "SAMPLES",
    "SCALE",
    "SCHEDULER",
    "SEED",
    "SIZE",
    "STEPS",
    "STRENGTH",
    "STYLE",
    "TUNING_OPTIONS",
    "UPSCALE_MODE",
    "UPSCALE_PROMPT",
    "Choice",
    "Kind",
    "OptionCatalogue",
    "OptionSpec",
    "normalize_flag",
    "option_by_name",
    "option_for_flag",
]

Kind = Literal["str", "int", "float", "choice", "image", "bool"]
Choice = str | int

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # Discord option and command names; python identifiers
_FLAG_RE = re.compile(r"^[a-z][a-z0-9-]*$")

HELP_MAX_CHARS = 100  # Discord's limit for option and command descriptions
_LIMIT_FIELDS = frozenset(f.name for f in fields(BackendLimits))


def normalize_flag(name: str) -> str:
    """``"--Mask_Source"`` → ``"mask-source"``: how flag names are compared."""
    return name.lstrip("-—–").strip().lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: its typed name, text flag, type, range, default and help text.

    * ``name`` — python identifier, Discord option name, key in ``Invocation.options``.
    * ``kind`` — ``"str" | "int" | "float" | "choice" | "image" | "bool"``. A ``"choice"``
      whose list is empty on this backend is unsupported there; a ``"str"`` with
      ``choices_from`` accepts anything when the list is empty (``--model``).
    * ``flag`` — text flag without dashes (``"ar"`` for ``--ar``), or None when the option
      cannot be typed inside the prompt (``prompt``, images); ``aliases`` likewise.
    * ``min``/``max`` static range, or ``limit`` naming the ``BackendLimits`` field
      (a ``(low, high)`` tuple) that gives it; see :meth:`range_for`.
    * ``choices`` static, or ``choices_from`` naming a ``BackendLimits`` tuple field.
    * ``default`` static, or ``default_from`` naming a ``BackendLimits`` field.
    * ``typed`` — offered as a typed option on Discord/Slack forms (else text flag only).
    * ``format`` — how a ``"str"`` value reads: ``"ratio"`` (``16:9``), ``"size"``
      (``1024x768``), ``"text"`` (free text up to the next flag), or ``""``.
    * ``repeatable`` — may be given several times (``--no fog --no rain``); values collect.
    * ``metavar``/``example`` — for help texts (``--ar W:H``, e.g. ``16:9``).
    * ``offered_with`` — a ``BackendLimits`` tuple field that must be non-empty for the option to
      exist on a backend (the upscale prompt needs ``guided_upscale_modes``).
    """

    name: str
    kind: Kind
    help: str
    default: object = None
    min: float | None = None
    max: float | None = None
    limit: str | None = None
    default_from: str | None = None
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    required: bool = False
    typed: bool = True
    flag: str | None = None
    aliases: tuple[str, ...] = ()
    metavar: str = ""
    example: str = ""
    format: str = ""
    repeatable: bool = False
    offered_with: str | None = None

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ValueError(f"option name {self.name!r} is not a valid Discord option name")
        if not self.help or len(self.help) > HELP_MAX_CHARS:
            raise ValueError(f"help of {self.name!r} must be 1..{HELP_MAX_CHARS} chars")
        for flag in (self.flag, *self.aliases):
            if flag is not None and not _FLAG_RE.match(flag):
                raise ValueError(
                    f"flag {flag!r} of {self.name!r} must be lower-case, without dashes in front"
                )
        if self.aliases and self.flag is None:
            raise ValueError(f"{self.name!r} has aliases but no flag")
        for ref in (self.limit, self.choices_from, self.default_from, self.offered_with):
            if ref is not None and ref not in _LIMIT_FIELDS:
                raise ValueError(f"{self.name!r} refers to unknown BackendLimits field {ref!r}")
        if self.limit is not None and (self.min is not None or self.max is not None):
            raise ValueError(f"{self.name!r}: give min/max or limit, not both")
        if self.choices and self.choices_from:
            raise ValueError(f"{self.name!r}: give choices or choices_from, not both")

    # ---- names -------------------------------------------------------------------------

    @property
    def flag_names(self) -> tuple[str, ...]:
        """All spellings inside the prompt, main flag first: ``("--ar", "--aspect")``."""
        if self.flag is None:
            return ()
        return tuple(f"--{f}" for f in (self.flag, *self.aliases))

    @property
    def display(self) -> str:
        """How messages name this option: ``--ar`` if it has a flag, else its name."""
        return f"--{self.flag}" if self.flag else self.name

    # ---- values that depend on the backend ----------------------------------------------

    def range_for(self, limits: BackendLimits) -> tuple[float, float] | None:
        """Inclusive ``(low, high)`` for numbers, or None when unbounded."""
        if self.limit is not None:
            low, high = getattr(limits, self.limit)
            return (low, high)
        if self.min is None and self.max is None:
            return None
        return (
            self.min if self.min is not None else float("-inf"),
            self.max if self.max is not None else float("inf"),
        )

    def choices_for(self, limits: BackendLimits) -> tuple[Choice, ...]:
        """Allowed values (empty: any value, or unsupported for ``"choice"``; see :meth:`supported_by`)."""
        if self.choices_from is not None:
            return tuple(getattr(limits, self.choices_from))
        return self.choices

    def default_for(self, limits: BackendLimits) -> object:
        """The value used when the user gives none (None: the backend decides)."""
        value = getattr(limits, self.default_from) if self.default_from is not None else self.default
        choices = self.choices_for(limits) if self.kind in ("choice", "int") else ()
        if value is not None and choices and value not in choices:
            return choices[0]
        return value

    def supported_by(self, limits: BackendLimits) -> bool:
        """False when this backend cannot take the option at all (``--style`` without presets)."""
        if self.name in limits.unsupported_options:
            return False
        if self.offered_with is not None and not getattr(limits, self.offered_with):
            return False
        if self.kind == "choice" and self.choices_from is not None:
            return bool(self.choices_for(limits))
        if self.format == "size" and limits.aspect_ratios is not None and limits.allowed_sizes is None:
            return False  # backends that take aspect ratios only
        return True


# ---- the catalogue ---------------------------------------------------------------------

PROMPT = OptionSpec(
    name="prompt",
    kind="str",
    help="What to draw. Flags work here too: --ar 16:9 --no text --seed 7",
    required=True,
    format="text",
    metavar="TEXT",
    example="a lighthouse at dusk, oil painting warm light::0.5 fog::-0.5",
)
IMAGE = OptionSpec(
    name="image", kind="image", help="The picture to start from (PNG, JPEG or WebP)", required=True
)
MASK = OptionSpec(
    name="mask",
    kind="image",
    help="Optional mask: white areas are repainted (or transparent areas of the image without one)",
)
ASPECT_RATIO = OptionSpec(
    name="aspect_ratio",
    kind="str",
    help="Aspect ratio W:H, e.g. 16:9 or 2:3; the nearest size the model can make is used",
    flag="ar",
    aliases=("aspect", "aspect-ratio"),
    format="ratio",
    metavar="W:H",
    example="16:9",
)
SIZE = OptionSpec(
    name="size",
    kind="str",
    help="Exact size WxH in pixels, e.g. 1216x832 (must be one the model can make)",
    default_from="default_size",
    typed=False,
    flag="size",
    format="size",
    metavar="WxH",
    example="1216x832",
)
SAMPLES = OptionSpec(
    name="samples",
    kind="int",
    help="How many images to make; each counts against your daily quota",
    default=1,
    limit="samples",
    flag="n",
    aliases=("samples", "count"),
    metavar="N",
    example="2",
)
SEED = OptionSpec(
    name="seed",
    kind="int",
    help="Seed for reproducible results; the same seed and prompt give the same image",
    limit="seed",
    flag="seed",
    metavar="N",
    example="1234",
)
STEPS = OptionSpec(
    name="steps",
    kind="int",
    help="Diffusion steps: more is slower and sometimes more detailed",
    limit="steps",
    default_from="default_steps",
    typed=False,
    flag="steps",
    metavar="N",
    example="40",
)
CFG_SCALE = OptionSpec(
    name="cfg_scale",
    kind="float",
    help="How strictly to follow the prompt (higher is stricter)",
    limit="cfg_scale",
    default_from="default_cfg_scale",
    typed=False,
    flag="cfg",
    aliases=("cfg-scale", "guidance"),
    metavar="X",
    example="7",
)
STYLE = OptionSpec(
    name="style",
    kind="choice",
    help="Style preset, e.g. photographic, anime, digital-art",
    choices_from="style_presets",
    flag="style",
    metavar="NAME",
    example="anime",
)
SAMPLER = OptionSpec(
    name="sampler",
    kind="choice",
    help="Sampler (diffusion algorithm) to use",
    choices_from="samplers",
    typed=False,
    flag="sampler",
    metavar="NAME",
    example="K_DPMPP_2M",
)
SCHEDULER = OptionSpec(
    name="scheduler",
    kind="choice",
    help="Noise scheduler to use",
    choices_from="schedulers",
    typed=False,
    flag="scheduler",
    metavar="NAME",
    example="karras",
)
NEGATIVE = OptionSpec(
    name="negative",
    kind="str",
    help="What to keep out of the image, e.g. blurry, text, watermark",
    flag="no",
    aliases=("neg", "negative"),
    format="text",
    repeatable=True,
    metavar="TEXT",
    example="blurry text",
)
STRENGTH = OptionSpec(
    name="strength",
    kind="float",
    help="How much of the source image to keep: 0 ignores it, 1 keeps it exactly",
    limit="strength",
    default_from="default_strength",
    flag="strength",
    metavar="X",
    example="0.4",
)
MODEL = OptionSpec(
    name="model",
    kind="str",
    help="Model (engine or checkpoint) to use instead of the default",
    choices_from="models",
    flag="model",
    metavar="ID",
    example="stable-diffusion-xl-1024-v1-0",
)
MASK_SOURCE = OptionSpec(
    name="mask_source",
    kind="choice",
    help="Which areas to repaint: white or black areas of the mask, or alpha (transparent image areas)",
    choices=tuple(m.value for m in MaskSource),
    flag="mask-source",
    metavar="white|black|alpha",
    example="black",
)
SCALE = OptionSpec(
    name="scale",
    kind="int",
    help="Upscale factor",
    default=2,
    choices_from="upscale_factors",
    flag="scale",
    aliases=("factor",),
    metavar="N",
    example="4",
)

UPSCALE_MODE = OptionSpec(
    name="upscale_mode",
    kind="choice",
    help="Upscaler: fast, or conservative/creative which need a prompt saying what the picture shows",
    choices_from="upscale_modes",
    flag="mode",
    metavar="NAME",
    example="creative",
)
UPSCALE_PROMPT = replace(
    PROMPT,
    help="For --mode conservative or creative: what the picture shows, to steer the upscaler",
    required=False,
    example="crisp details, sharp focus",
    offered_with="guided_upscale_modes",
)

COMMON_OPTIONS: tuple[OptionSpec, ...] = (SAMPLES, NEGATIVE, STYLE, SEED)
"""Taken by imagine, remix, inpaint, outpaint and replace, in the order front ends show them."""
TUNING_OPTIONS: tuple[OptionSpec, ...] = (STEPS, CFG_SCALE, SAMPLER, SCHEDULER, MODEL)
"""The diffusion controls of imagine, remix, inpaint and outpaint, after ``COMMON_OPTIONS``."""

ALL_OPTIONS: tuple[OptionSpec, ...] = (
    PROMPT,
    IMAGE,
    MASK,
    ASPECT_RATIO,
    SIZE,
    SAMPLES,
    SEED,
    STEPS,
    CFG_SCALE,
    STYLE,
    SAMPLER,
    SCHEDULER,
    NEGATIVE,
    STRENGTH,
    MODEL,
    MASK_SOURCE,
    SCALE,
)
"""The shared options; commands may add their own (see ``commands.KNOWN_OPTIONS``)."""


class OptionCatalogue:
    """Options looked up by name and by any flag spelling; refuses two options sharing a flag.

    Options with the same ``name`` are the same option (a command may restate one with its
    own help text via ``dataclasses.replace``); the first one given is kept.
    """

    def __init__(self, options: Iterable[OptionSpec]) -> None:
        self._by_name: dict[str, OptionSpec] = {}
        self._by_flag: dict[str, OptionSpec] = {}
        for option in options:
            if option.name in self._by_name:
                continue
            self._by_name[option.name] = option
            for flag in (option.flag, *option.aliases):
                if flag is None:
                    continue
                if flag in self._by_flag:
                    other = self._by_flag[flag].name
                    raise ValueError(f"flag --{flag} is declared by both {other!r} and {option.name!r}")
                self._by_flag[flag] = option

    @property
    def options(self) -> tuple[OptionSpec, ...]:
        return tuple(self._by_name.values())

    def by_flag(self, flag: str) -> OptionSpec | None:
        """The option of a flag in any spelling: ``--AR``, ``aspect``, ``mask_source``, ``—seed``."""
        return self._by_flag.get(normalize_flag(flag))

    def by_name(self, name: str) -> OptionSpec | None:
        return self._by_name.get(name)

    def flag_spellings(self) -> tuple[str, ...]:
        """Every flag name without dashes (for "did you mean" suggestions)."""
        return tuple(self._by_flag)


CATALOGUE = OptionCatalogue(ALL_OPTIONS)
"""The options declared in this module. ``commands.KNOWN_OPTIONS`` adds those of every command."""


def option_for_flag(flag: str) -> OptionSpec | None:
    """The option a text flag (any spelling: ``--AR``, ``aspect``, ``mask_source``) belongs to."""
    return CATALOGUE.by_flag(flag)


def option_by_name(name: str) -> OptionSpec | None:
    return CATALOGUE.by_name(name)
