"""``/models``: which models each command can use right now, their limits and cost, said once.

The listing is data (:class:`ModelListing`) built from the router's offers and each service's
state; Discord, Slack and the CLI render the same data with their own markup and caps::

    listing = model_listing(snapshot)                 # snapshot: services.backends.catalogue
    listing.command("imagine").default                # "core"
    overview_lines(listing, MARKUP)                   # one line per command
    detail_lines(listing.command("imagine"), MARKUP)  # one line per model: limits, cost, notes
    fit_lines(lines, 4096, more=lambda n: f"…and {n} more")  # whole lines within a platform's cap

A model whose service is down (its hosts are, or its last check failed) stays listed, marked
unavailable with the reason, so people know it exists and why it will not work now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from commands import COMMANDS, CommandSpec
from commands.help import describe_values
from commands.options import ASPECT_RATIO, SAMPLES, SCALE, SIZE, STEPS, UPSCALE_MODE
from commands.replies import Icon, Markup
from commands.sizes import format_size
from services.backends.base import BackendLimits
from services.backends.catalogue import CatalogueSnapshot
from services.backends.routing import ModelOffer

__all__ = [
    "NOTES",
    "CommandModels",
    "ModelEntry",
    "ModelListing",
    "default_model_for",
    "detail_lines",
    "fit_lines",
    "limit_facts",
    "model_line",
    "model_listing",
    "models_serving",
    "overview_lines",
    "unavailable_services",
]

#: What each note an offer carries means, in the words users read.
NOTES: Mapping[str, str] = {
    "SynthID": "Google marks these pictures with SynthID, an invisible watermark",
}
_SHOWN_SIZES = 8


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model as one command would use it.

    ``limits`` are ``(what, values)`` pairs in reading order, e.g. ``("aspect ratios", "1:1, 16:9")``,
    ``("images", "1–4")``; ``reason`` says why an unavailable model is (its service's state).
    """

    name: str
    service: str
    units_per_image: int
    limits: tuple[tuple[str, str], ...]
    notes: tuple[str, ...] = ()
    default: bool = False
    available: bool = True
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.name,
            "service": self.service,
            "units_per_image": self.units_per_image,
            "limits": dict(self.limits),
            "notes": list(self.notes),
            "default": self.default,
            "available": self.available,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class CommandModels:
    """The models one command can use, its default first."""

    command: str
    default: str
    models: tuple[ModelEntry, ...]

    @property
    def available(self) -> tuple[ModelEntry, ...]:
        return tuple(m for m in self.models if m.available)


@dataclass(frozen=True, slots=True)
class ModelListing:
    """Every command that some enabled model serves, in the commands' own order."""

    commands: tuple[CommandModels, ...]

    def command(self, name: str) -> CommandModels | None:
        key = name.strip().lstrip("/").lower()
        return next((c for c in self.commands if c.command == key), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "commands": [
                {"command": c.command, "default": c.default, "models": [m.to_json() for m in c.models]}
                for c in self.commands
            ]
        }


# ---------------------------------------------------------------------------- building the listing


def models_serving(spec: CommandSpec, offers: Iterable[ModelOffer]) -> tuple[ModelOffer, ...]:
    """The offers whose model can run ``spec`` (the model picker offers exactly these)."""
    return tuple(o for o in offers if spec.operation in o.operations)


def default_model_for(spec: CommandSpec, snapshot: CatalogueSnapshot) -> str:
    """The model ``spec`` runs on without ``--model``: the operator's per-command default
    (``EASEL_DEFAULT_MODELS``), else the default model when it can, else the first that can."""
    chosen = snapshot.limits.default_for(spec.operation)
    serving = [o.name for o in models_serving(spec, snapshot.offers)]
    return chosen if chosen in serving else (serving[0] if serving else "")


def _sizes(limits: BackendLimits) -> tuple[str, str]:
    if limits.aspect_ratios:
        return "aspect ratios", _few(limits.aspect_ratios)
    if limits.allowed_sizes:
        return "sizes", _few([format_size(s) for s in limits.allowed_sizes])
    return (
        "sizes",
        f"{limits.min_side}–{limits.max_side} px sides, multiples of {limits.size_multiple}, "
        f"up to {limits.max_pixels / 1_000_000:.1f} MP",
    )


def _few(values: Iterable[str]) -> str:
    shown = list(values)
    extra = len(shown) - _SHOWN_SIZES
    return ", ".join(shown[:_SHOWN_SIZES]) + (f" (+{extra} more)" if extra > 0 else "")


def limit_facts(spec: CommandSpec, limits: BackendLimits) -> tuple[tuple[str, str], ...]:
    """What ``spec`` may ask of a model with ``limits``: sizes, images, steps, upscale factors."""
    facts: list[tuple[str, str]] = []
    if (spec.takes(ASPECT_RATIO) or spec.takes(SIZE)) and ASPECT_RATIO.supported_by(limits):
        facts.append(_sizes(limits))
    for label, option in (("images", SAMPLES), ("steps", STEPS), ("factors", SCALE), ("modes", UPSCALE_MODE)):
        if spec.takes(option) and option.supported_by(limits):
            values = describe_values(option, limits)
            if values and not values.startswith(("depends", "not available")):
                facts.append((label, f"×{values.replace(', ', ', ×')}" if option is SCALE else values))
    return tuple(facts)


def model_listing(
    snapshot: CatalogueSnapshot, *, commands: Iterable[CommandSpec] | None = None
) -> ModelListing:
    """The listing of ``snapshot`` for every command (default: all of easel's), defaults first."""
    listed: list[CommandModels] = []
    for spec in COMMANDS.values() if commands is None else commands:
        serving = models_serving(spec, snapshot.offers)
        if not serving:
            continue
        default = default_model_for(spec, snapshot)
        entries = []
        for offer in sorted(serving, key=lambda o: o.name != default):
            state = snapshot.states.get(offer.plugin)
            entries.append(
                ModelEntry(
                    name=offer.name,
                    service=offer.plugin,
                    units_per_image=offer.units_per_image,
                    limits=limit_facts(spec, offer.limits),
                    notes=tuple(NOTES.get(n, n) for n in offer.notes),
                    default=offer.name == default,
                    available=snapshot.available(offer),
                    reason="" if state is None or state.available else state.reason,
                )
            )
        listed.append(CommandModels(spec.name, default, tuple(entries)))
    return ModelListing(tuple(listed))


# ---------------------------------------------------------------------------- words


def _units(n: int) -> str:
    return f"{n} unit{'s' if n != 1 else ''}"


def model_line(entry: ModelEntry, markup: Markup) -> str:
    """``"core (stability) — default · 3 units per image · aspect ratios: 1:1, 16:9 · images: 1–4"``."""
    head = f"{markup.bold(markup.escape(entry.name))} ({markup.escape(entry.service)})"
    parts = [head + (" — default" if entry.default else "")]
    parts.append(f"{_units(entry.units_per_image)} per image")
    parts += [f"{what}: {values}" for what, values in entry.limits]
    parts += list(entry.notes)
    line = " · ".join(parts)
    if not entry.available:
        line = f"{markup.icons[Icon.WARNING]} {line} — unavailable right now: {entry.reason}".lstrip()
    return line


def detail_lines(models: CommandModels, markup: Markup) -> list[str]:
    """A heading, then one line per model of the command (its default first)."""
    lines = [f"{markup.bold('/' + models.command)} — default model: {markup.escape(models.default)}"]
    return lines + [f"• {model_line(m, markup)}" for m in models.models]


def overview_lines(listing: ModelListing, markup: Markup) -> list[str]:
    """One line per command: its models with their cost, the default first, unavailable ones marked."""
    lines = []
    for command in listing.commands:
        names = []
        for entry in command.models:
            name = markup.escape(entry.name)
            tags = [_units(entry.units_per_image)] + (["default"] if entry.default else [])
            tags += [] if entry.available else ["unavailable now"]
            names.append(f"{name} ({', '.join(tags)})")
        lines.append(f"{markup.bold('/' + command.command)}: {', '.join(names)}")
    return lines


def unavailable_services(listing: ModelListing) -> dict[str, str]:
    """Service → why it is down, for a line under the overview."""
    return {m.service: m.reason for c in listing.commands for m in c.models if not m.available}


def fit_lines(lines: list[str], max_chars: int, *, more: Callable[[int], str]) -> str:
    """``lines`` joined by newlines, cut after a whole line so that, with ``more(n)`` naming the
    ``n`` lines left out, the text stays within ``max_chars``."""
    text = "\n".join(lines)
    if len(text) <= max_chars:
        return text
    kept: list[str] = []
    for line in lines:
        left = len(lines) - len(kept) - 1
        if len("\n".join([*kept, line, more(left)])) > max_chars:
            break
        kept.append(line)
    return "\n".join([*kept, more(len(lines) - len(kept))])[:max_chars]
