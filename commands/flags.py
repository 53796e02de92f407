"""The text-flag grammar: options typed inside the prompt, merged with typed options.

::

    parsed = parse_text("a castle::2 fog::-0.5 --ar 16:9 --no blurry, text --seed 7", IMAGINE, limits)
    parsed.text      # "a castle::2 fog::-0.5"
    parsed.prompts   # (castle 2.0, fog -0.5, "blurry, text" -1.0)
    parsed.values    # {"aspect_ratio": "16:9", "negative": ("blurry, text",), "seed": 7}

Grammar (see ``commands.help.FLAG_HELP`` for the user-facing version):

* a flag is ``--name`` at the start of the text or after whitespace; ``—name``/``–name``
  (phones turn ``--`` into a dash) counts when ``name`` is a known flag;
* ``--name=value`` or ``--name value``: one word, the rest returns to the prompt;
  ``--no``'s value is everything up to the next flag; ``--no`` may repeat;
* names are case-insensitive and ``_`` equals ``-``.

Every mistake raises :class:`~commands.errors.OptionError` (an ``InvalidRequest``) whose
message names the flag and what is allowed; nothing reaches a backend.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from commands.errors import OptionError, OptionUnsupported, cut, quote
from commands.invocation import Invocation
from commands.options import (
    OptionSpec,
    normalize_flag,
)
from commands.prompts import EMPTY_PROMPT_MESSAGE, check_length, clean_text, parse_weighted
from commands.registry import commands_taking, known_options
from commands.spec import CommandSpec
from commands.values import convert_value, format_number, missing_value, normalize_choice
from services.backends.base import BackendLimits
from services.types import WeightedPrompt

__all__ = [
    "ParsedPrompt",
    "convert_value",
    "given_raw",
    "parse_text",
    "resolve",
]  # convert_value: re-exported

NEGATIVE_WEIGHT = -1.0
_FLAG_RE = re.compile(r"(?:(?<=\s)|^)(--|[—–])([A-Za-z][^\s=]*)(?:=(\S*))?")
_QUOTES = "\"'“”‘’„«»"
_QUOTED_RE = re.compile(rf"[{_QUOTES}]([^{_QUOTES}]*)[{_QUOTES}](?=\s|$)")


@dataclass(frozen=True)
class ParsedPrompt:
    """A prompt with its flags taken out and every value validated.

    * ``text`` — the prompt without flags, cleaned (``::`` weights still in it).
    * ``prompts`` — ``text`` split into weighted parts, then one part per ``--no`` (weight -1).
    * ``values`` — validated option values by option name; only options that were given.
      Types: ``aspect_ratio`` ``"16:9"``; ``size`` ``(w, h)``; ``samples``/``seed``/``steps``/
      ``scale`` ``int``; ``cfg_scale``/``strength`` ``float``; ``negative`` ``tuple[str, ...]``;
      ``style``/``sampler``/``scheduler``/``model``/``mask_source`` ``str`` (canonical spelling).
    """

    text: str = ""
    prompts: tuple[WeightedPrompt, ...] = ()
    values: Mapping[str, object] = field(default_factory=dict)

    def get(self, name: str, default: object = None) -> object:
        return self.values.get(name, default)

    def get_int(self, name: str, default: int | None = None) -> int | None:
        value = self.values.get(name, default)
        return None if value is None else int(value)  # type: ignore[call-overload]

    def get_float(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name, default)
        return None if value is None else float(value)  # type: ignore[arg-type]

    def get_str(self, name: str, default: str | None = None) -> str | None:
        value = self.values.get(name, default)
        return None if value is None else str(value)

    @property
    def positive_prompt(self) -> str:
        return ", ".join(p.text for p in self.prompts if p.weight >= 0)

    @property
    def negative_prompt(self) -> str:
        return ", ".join(p.text for p in self.prompts if p.weight < 0)


@dataclass(frozen=True)
class _Hit:
    spelling: str  # as typed, normalised: "--aspect"
    option: OptionSpec
    raw: str | None  # None: no value given


def _not_for_command(option: OptionSpec, label: str, command: CommandSpec) -> OptionUnsupported:
    where = commands_taking(option)
    also = f"; it works with {', '.join(where)}" if where else ""
    return OptionUnsupported(f"{label} doesn't work with /{command.name}{also}.", option=option.name)


def _not_on_backend(option: OptionSpec, label: str) -> OptionUnsupported:
    return OptionUnsupported(f"{label} isn't available on this backend.", option=option.name)


def _unknown_flag(name: str, command: CommandSpec) -> OptionError:
    known = list(known_options().flag_spellings())
    for flag in sorted(known, key=len, reverse=True):  # "--ar16:9": a missing space
        if name.startswith(flag) and len(name) > len(flag) and name[len(flag)] in "0123456789.:":
            return OptionError(
                f"I don't know the flag --{cut(name)}. Did you mean --{flag} {cut(name[len(flag) :].lstrip('='))} "
                "(with a space)?"
            )
    close = difflib.get_close_matches(name[:64], known, n=1, cutoff=0.6) if len(name) <= 64 else []
    hint = f" Did you mean --{close[0]}?" if close else f" Type /help to see the flags of /{command.name}."
    return OptionError(f"I don't know the flag --{cut(name)}.{hint}")


def _quoted(text: str) -> tuple[str, str] | None:
    """``'"digital art" rest'`` → ``("digital art", " rest")``; None if ``text`` isn't quoted."""
    match = _QUOTED_RE.match(text.lstrip())
    if match is None:
        return None
    return match.group(1).strip(), text.lstrip()[match.end() :]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        return text[1:-1].strip()
    return text


def _take_choice_words(option: OptionSpec, words: list[str], limits: BackendLimits) -> int:
    """How many words a choice value spans (``--style digital art`` → 2 when "digital-art" exists)."""
    choices = {normalize_choice(c) for c in option.choices_for(limits)}
    for n in range(min(len(words), 4), 1, -1):
        if normalize_choice("-".join(words[:n])) in choices:
            return n
    return 1


def _scan(text: str, command: CommandSpec, limits: BackendLimits) -> tuple[str, list[_Hit]]:
    """Split cleaned ``text`` into prompt words and flag hits (validating flag names only)."""
    matches = []
    for match in _FLAG_RE.finditer(text):
        if match.group(1) != "--" and known_options().by_flag(match.group(2)) is None:
            continue  # a dash used as punctuation, not a mangled "--"
        matches.append(match)
    pieces = [text[: matches[0].start()] if matches else text]
    hits: list[_Hit] = []
    for i, match in enumerate(matches):
        name = normalize_flag(match.group(2))
        label = f"--{name}"
        option = command.option_for_flag(name) or known_options().by_flag(name)
        if option is None:
            raise _unknown_flag(name, command)
        if not command.takes(option):
            raise _not_for_command(option, label, command)
        if not option.supported_by(limits):
            raise _not_on_backend(option, label)
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        segment = text[match.end() : end]
        eq = match.group(3)
        raw: str | None
        if eq is None:
            quoted = _quoted(segment)
        elif eq and eq[0] in _QUOTES:  # --style="digital art"
            quoted = _quoted(eq + segment)
        else:
            quoted = None
        if option.format == "text":
            raw = _unquote(" ".join(s for s in (eq, segment) if s).strip()) or None
            segment = ""
        elif option.kind == "bool":
            raw = eq if eq is not None else "true"
        elif quoted is not None:
            raw, segment = quoted
            raw = raw or None
        elif eq is not None:
            raw = eq or None
        else:
            words = segment.split()
            n = _take_choice_words(option, words, limits) if option.kind == "choice" and words else 1
            raw = " ".join(words[:n]) or None
            segment = " ".join(words[n:])
        pieces.append(segment)
        hits.append(_Hit(label, option, raw))
    return " ".join(pieces), hits


def _flag_values(hits: list[_Hit], limits: BackendLimits) -> dict[str, object]:
    values: dict[str, object] = {}
    first: dict[str, _Hit] = {}
    for hit in hits:
        option = hit.option
        if option.name in first and not option.repeatable:
            before = first[option.name]
            raise OptionError(
                f"{hit.spelling} is given twice ({before.spelling} {before.raw or '(no value)'} and "
                f"{hit.spelling} {hit.raw or '(no value)'}); please give it once.",
                option=option.name,
            )
        first.setdefault(option.name, hit)
        if hit.raw is None:
            raise missing_value(option, hit.spelling)
        value = convert_value(option, hit.raw, limits, label=hit.spelling)
        if option.repeatable:
            values[option.name] = (*_as_tuple(values.get(option.name)), value)
        else:
            values[option.name] = value
    return values


def _typed_values(
    options: Mapping[str, object], command: CommandSpec, limits: BackendLimits
) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, raw in options.items():
        if raw is None or (isinstance(raw, str) and not raw.strip()) or name == "prompt":
            continue  # empty form fields; the prompt is merged with the text
        option = command.option(name) or known_options().by_name(name)
        if option is None or not command.takes(option):
            if option is not None and option.flag is not None:
                raise _not_for_command(option, option.display, command)
            raise OptionError(f"/{command.name} has no option {quote(name)}.")
        if option.kind == "image":
            continue  # uploads travel in Invocation.images
        if not option.supported_by(limits):
            raise _not_on_backend(option, option.display)
        if option.repeatable:
            items = raw if isinstance(raw, list | tuple) else (raw,)
            values[name] = tuple(convert_value(option, item, limits, label=name) for item in items if item)
        else:
            values[name] = convert_value(option, raw, limits, label=name)
    return values


def _merge(typed: dict[str, object], flagged: dict[str, object], command: CommandSpec) -> dict[str, object]:
    merged = dict(typed)
    for name, value in flagged.items():
        if name not in merged:
            merged[name] = value
            continue
        option = command.option(name)
        assert option is not None
        if option.repeatable:
            both = (*_as_tuple(merged[name]), *_as_tuple(value))
            merged[name] = tuple(dict.fromkeys(both))
        elif merged[name] != value:
            raise OptionError(
                f"{option.display} is set twice with different values: {cut(_show(merged[name]))} in the "
                f"{quote(name)} option and {cut(_show(value))} in the prompt. Please give it once.",
                option=name,
            )
    return merged


def _as_tuple(value: object) -> tuple[object, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def _show(value: object) -> str:
    if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return f"{value[0]}x{value[1]}"
    return format_number(value) if isinstance(value, float) else str(value)


# ---- public entry points ----------------------------------------------------------------------


def _prompts(
    text: str, values: Mapping[str, object], command: CommandSpec, limits: BackendLimits
) -> tuple[WeightedPrompt, ...]:
    if not command.takes_prompt:
        return ()
    check_length(text, limits.max_prompt_chars)
    parts = parse_weighted(
        text, allow_negative=limits.supports_negative_weights, max_weight=limits.max_prompt_weight
    )
    if command.prompt_required and not any(p.weight > 0 for p in parts):
        if parts:
            raise OptionError(
                f"{EMPTY_PROMPT_MESSAGE} Negative weights only say what to avoid.", option="prompt"
            )
        raise OptionError(EMPTY_PROMPT_MESSAGE, option="prompt")
    negatives = tuple(WeightedPrompt(str(t), NEGATIVE_WEIGHT) for t in _as_tuple(values.get("negative")))
    return parts + negatives


def given_raw(inv: Invocation, command: CommandSpec, limits: BackendLimits, name: str) -> str | None:
    """The raw value of option ``name`` as given (typed option first, else its flag), unvalidated.

    Lets a command pick the limits a value depends on (``--model``) before validating the rest.
    Misspelt flags raise as in :func:`resolve`.
    """
    typed = inv.options.get(name)
    if isinstance(typed, str) and typed.strip():
        return typed.strip()
    _, hits = _scan(clean_text(inv.text), command, limits)
    return next((hit.raw for hit in hits if hit.option.name == name and hit.raw), None)


def parse_text(text: str, command: CommandSpec, limits: BackendLimits) -> ParsedPrompt:
    """Parse the prompt text of ``command`` (flags only, no typed options)."""
    return resolve(Invocation(text=text), command, limits)


def resolve(inv: Invocation, command: CommandSpec, limits: BackendLimits) -> ParsedPrompt:
    """Parse ``inv.text``, validate ``inv.options``, merge them and split the prompt.

    The same option given both ways must have the same value (``--no`` values collect).
    """
    text = clean_text(inv.text)
    typed_prompt = inv.options.get("prompt")
    if isinstance(typed_prompt, str) and clean_text(typed_prompt):
        other = clean_text(typed_prompt)
        if text and text != other:
            raise OptionError("The prompt is given twice with different texts. Please give it once.")
        text = other
    prompt_text, hits = _scan(text, command, limits)
    values = _merge(_typed_values(inv.options, command, limits), _flag_values(hits, limits), command)
    if "aspect_ratio" in values and "size" in values:
        raise OptionError("Use either --ar or --size, not both.", option="size")
    prompt_text = clean_text(prompt_text)
    return ParsedPrompt(
        text=prompt_text if command.takes_prompt else "",
        prompts=_prompts(prompt_text, values, command, limits),
        values=values,
    )
