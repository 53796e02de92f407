"""One option value, typed or taken from a flag, checked against the backend's limits.

::

    convert_value(SEED, "7", limits)            # 7
    convert_value(ASPECT_RATIO, "16:9", limits)  # (16, 9)

Every mistake raises :class:`~commands.errors.OptionError` naming the option as the user wrote it
(``label``) and what is allowed; the flag grammar (:mod:`commands.flags`) and typed options from
forms both end here, so a value means the same whichever way it came in.
"""

from __future__ import annotations

import difflib
import math
import re

from commands.errors import OptionError, cut, quote
from commands.options import Choice, OptionSpec
from commands.prompts import check_length, clean_text
from commands.sizes import check_size, parse_ratio, parse_size
from services.backends.base import BackendLimits

__all__ = ["convert_value", "format_number", "missing_value", "normalize_choice"]

_MAX_LISTED_CHOICES = 25
_INT_RE = re.compile(r"^[+-]?\d+$")
_MAX_INT_DIGITS = 30  # beyond every range easel has (seeds are 10 digits)
_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def format_number(number: float) -> str:
    """``2.0`` → "2", ``0.35`` → "0.35": numbers in messages as people write them."""
    if isinstance(number, float) and math.isfinite(number) and number == int(number):
        return str(int(number))
    return f"{number:g}" if isinstance(number, float) else str(number)


def normalize_choice(value: object) -> str:
    """ "Digital Art", "digital_art" and "digital-art" are the same choice."""
    return re.sub(r"[\s_]+", "-", str(value).strip().lower())


def _listing(choices: tuple[Choice, ...]) -> str:
    shown = ", ".join(str(c) for c in choices[:_MAX_LISTED_CHOICES])
    return shown + (", …" if len(choices) > _MAX_LISTED_CHOICES else "")


def _match_choice(option: OptionSpec, value: str, choices: tuple[Choice, ...], label: str) -> Choice:
    wanted = normalize_choice(value)
    for choice in choices:
        if normalize_choice(choice) == wanted:
            return choice
    what = option.name.replace("_", " ")
    close = difflib.get_close_matches(wanted, [normalize_choice(c) for c in choices], n=1, cutoff=0.5)
    hint = ""
    if close:
        best = next(c for c in choices if normalize_choice(c) == close[0])
        hint = f" Did you mean {best}?"
    raise OptionError(
        f"{label}: {quote(value)} isn't a {what} this backend knows.{hint} Choose from: {_listing(choices)}.",
        option=option.name,
    )


def _out_of_range(option: OptionSpec, limits: BackendLimits, label: str, given: str) -> OptionError:
    bounds = option.range_for(limits)
    if bounds is None:
        return OptionError(f"{label} is far too large; you gave {cut(given)}.", option=option.name)
    low, high = bounds
    return OptionError(
        f"{label} must be between {format_number(low)} and {format_number(high)}; you gave {cut(given)}.",
        option=option.name,
    )


def _check_range(option: OptionSpec, value: float, limits: BackendLimits, label: str) -> None:
    bounds = option.range_for(limits)
    if bounds is None:
        return
    low, high = bounds
    if not low <= value <= high:
        raise OptionError(
            f"{label} must be between {format_number(low)} and {format_number(high)}; you gave {cut(format_number(value))}.",
            option=option.name,
        )


def convert_value(
    option: OptionSpec, raw: object, limits: BackendLimits, *, label: str | None = None
) -> object:
    """Turn one raw value (text from a flag, or a typed option's value) into a checked value.

    ``label`` is how messages name the option (the flag as the user typed it).
    """
    label = label or option.display
    if option.kind == "int":
        if isinstance(raw, bool):
            raise OptionError(f"{label} needs a whole number.", option=option.name)
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        if isinstance(raw, str):
            text = raw.strip()
            if not _INT_RE.match(text):
                raise OptionError(f"{label} needs a whole number, not {quote(raw)}.", option=option.name)
            if len(text.lstrip("+-")) > _MAX_INT_DIGITS:  # int() refuses 4,300+ digits with a ValueError
                raise _out_of_range(option, limits, label, text)
            raw = int(text)
        if not isinstance(raw, int):
            raise OptionError(f"{label} needs a whole number, not {quote(raw)}.", option=option.name)
        int_choices = option.choices_for(limits)
        if int_choices and raw not in int_choices:
            raise OptionError(
                f"{label} must be one of {_listing(int_choices)}; you gave {cut(raw)}.", option=option.name
            )
        _check_range(option, raw, limits, label)
        return raw
    if option.kind == "float":
        if isinstance(raw, bool):
            raise OptionError(f"{label} needs a number.", option=option.name)
        try:
            if isinstance(raw, str):
                value = float(raw.strip().replace(",", ".", 1))  # "0,4" from European keyboards
            elif isinstance(raw, int | float):
                value = float(raw)
            else:
                raise ValueError(raw)
        except ValueError:
            raise OptionError(f"{label} needs a number, not {quote(raw)}.", option=option.name) from None
        if not math.isfinite(value):
            raise OptionError(f"{label} needs a finite number, not {quote(raw)}.", option=option.name)
        _check_range(option, value, limits, label)
        return value
    if option.kind == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise OptionError(f"{label} is on or off (true/false), not {quote(raw)}.", option=option.name)
    if option.kind == "choice":
        return _match_choice(option, str(raw), option.choices_for(limits), label)
    if option.kind == "image":
        raise OptionError(f"{label} must be an uploaded image.", option=option.name)
    # "str"
    text = clean_text(str(raw))
    if not text:
        raise missing_value(option, label)
    if option.format == "ratio":
        return parse_ratio(text, flag=label)
    if option.format == "size":
        return check_size(parse_size(text, flag=label), limits, flag=label)
    if option.format == "text":
        check_length(text, limits.max_prompt_chars, what=f"The text after {label}", option=option.name)
        return text
    str_choices = option.choices_for(limits)
    if str_choices:
        return _match_choice(option, text, str_choices, label)
    return text


def missing_value(option: OptionSpec, label: str) -> OptionError:
    """The option was given without a value."""
    example = f", e.g. {label} {option.example}" if option.example else ""
    return OptionError(f"{label} needs a value{example}.", option=option.name)


# ---- scanning the text -----------------------------------------------------------------------
