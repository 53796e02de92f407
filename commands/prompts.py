"""Prompt text: cleaning and Midjourney-style weights (``a castle::2 fog::-0.5``).

::

    parse_weighted("a castle::2 fog::-0.5 at dusk")
    # (WeightedPrompt("a castle", 2.0), WeightedPrompt("fog", -0.5), WeightedPrompt("at dusk", 1.0))

``::W`` ends a part and gives it weight W; a part without a weight has weight 1. Mentions
are not escaped here (front ends escape what they echo); control characters are dropped
and whitespace collapsed so the backend sees one tidy line.
"""

from __future__ import annotations

import math
import re
import unicodedata

from commands.errors import OptionError, OptionUnsupported
from services.types import GenerationRequest, WeightedPrompt

__all__ = [
    "EMPTY_PROMPT_MESSAGE",
    "MAX_WEIGHT",
    "check_length",
    "check_utf8",
    "clean_text",
    "parse_weighted",
    "prompt_text",
]

EMPTY_PROMPT_MESSAGE = "Please describe the image you want."
MAX_WEIGHT = 10.0

_WEIGHT_RE = re.compile(r"::(?:([+-]?(?:\d+(?:\.\d+)?|\.\d+))(?![\w.]))?")
_SPACE_RE = re.compile(r"\s+")


def clean_text(text: str) -> str:
    """Drop control characters (keeping emoji joiners etc.), collapse whitespace, strip.

    Text that is not valid Unicode (bytes that were not UTF-8, decoded by Python as lone
    surrogates: a shell in another locale, a file saved as Latin-1) is refused here, the one
    door every typed text goes through, so no service's JSON is ever handed what it cannot carry.
    """
    check_utf8(text)
    kept = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return _SPACE_RE.sub(" ", kept).strip()


def check_utf8(text: str) -> None:
    """:class:`OptionError` naming where the first byte that is not UTF-8 text sits."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        before = text[max(exc.start - 20, 0) : exc.start].encode("utf-8", "replace").decode()
        where = f' after "{before}"' if before.strip() else " at the start"
        raise OptionError(
            f"Your text has bytes that aren't valid UTF-8{where}. "
            "Please retype it, or save the file as UTF-8 and try again.",
            log_detail=f"lone surrogate at {exc.start}",
        ) from None


def check_length(
    text: str, max_chars: int, *, what: str = "Your prompt", option: str | None = "prompt"
) -> None:
    if len(text) > max_chars:
        raise OptionError(
            f"{what} is {len(text)} characters long; the limit is {max_chars}. Please shorten it.",
            option=option,
        )


def _part(text: str) -> str:
    return text.strip(" ,;")


def parse_weighted(
    text: str, *, allow_negative: bool = True, max_weight: float | None = None
) -> tuple[WeightedPrompt, ...]:
    """Split ``text`` at ``::W`` markers into weighted parts (empty input → empty tuple).

    ``max_weight`` — the backend's strongest weight (Stability's current models: 1); a stronger
    one is refused, not silently changed, so the user decides how to rebalance the parts.
    """
    parts: list[WeightedPrompt] = []
    start = 0
    for match in _WEIGHT_RE.finditer(text):
        chunk = _part(text[start : match.start()])
        start = match.end()
        raw = match.group(1)
        if not chunk:
            if raw is not None:
                raise OptionError(f"The weight ::{raw} needs some text before it, e.g. 'a castle::{raw}'.")
            continue
        weight = 1.0 if raw is None else float(raw)
        parts.append(WeightedPrompt(chunk, weight))
    tail = _part(text[start:])
    if tail:
        parts.append(WeightedPrompt(tail, 1.0))
    for part in parts:
        if not math.isfinite(part.weight) or abs(part.weight) > MAX_WEIGHT:
            raise OptionError(
                f"Prompt weights must be between -{MAX_WEIGHT:g} and {MAX_WEIGHT:g}; "
                f"'{part.text}' has ::{part.weight:g}."
            )
        if max_weight is not None and part.weight > max_weight:
            others = next((p.text for p in parts if p is not part), "")
            example = f"'{part.text} {others}::0.5'" if others else f"'{part.text}::{max_weight:g}'"
            raise OptionError(
                f"This backend takes prompt weights up to {max_weight:g} (full strength); '{part.text}' has "
                f"::{part.weight:g}. To stress it, weaken the other parts instead, e.g. {example}.",
                option="prompt",
            )
        if part.weight < 0 and not allow_negative:
            raise OptionUnsupported(
                f"This backend can't use negative weights ('{part.text}::{part.weight:g}').", option="prompt"
            )
    return tuple(parts)


def prompt_text(request: GenerationRequest) -> str:
    """A request's prompt as a user would type it: ``a castle::2, at dusk --no fog``.

    Re-parsed by the flag grammar for variations, rerolls and the remix forms of every
    front end, so it must round-trip through :func:`commands.flags.parse_text`.
    """
    positive = [p for p in request.prompts if p.weight >= 0]
    negative = [p for p in request.prompts if p.weight < 0]
    if all(p.weight == 1.0 for p in positive):
        text = ", ".join(p.text for p in positive)
    else:
        text = " ".join(f"{p.text}::{p.weight:g}" for p in positive)
    for p in negative:
        text += f" --no {p.text}" if p.weight == -1.0 else f" {p.text}::{p.weight:g}"
    return text.strip()
