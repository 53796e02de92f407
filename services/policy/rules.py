"""Compiled block and adult-only lists: whole words (any case, Unicode-aware) and bounded regexes.

Python's ``re`` has no timeout, so safety comes from both sides: patterns with nested or adjacent
unbounded quantifiers (the catastrophic-backtracking shapes) and backreferences are refused when
the rule is loaded, and a prompt is matched on at most :data:`MAX_SCAN_CHARS` characters.
Spaced-out words (``c a t``, ``c.a.t``) are also matched, on a copy with those letters joined::

    rules = RuleSet.compile([Rule("word", "cat"), Rule("regex", r"dog\\d+")])
    rules.first_match("a C A T in a hat")   # "cat"
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["MAX_SCAN_CHARS", "Rule", "RuleError", "RuleSet", "parse_rule_lines"]

MAX_SCAN_CHARS = 4000
MAX_PATTERN_CHARS = 300

RuleKind = Literal["word", "regex"]

# A group holding an unbounded quantifier, itself repeated: (a+)+, (a|aa)*, (\w+\s?)*.
_NESTED = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)\s*[+*{]")
# A repeated group of alternatives that may overlap: (x|xx)*.
_REPEATED_ALTERNATION = re.compile(r"\((?:[^()\\]|\\.)*\|(?:[^()\\]|\\.)*\)\s*[+*{]")
_ADJACENT = re.compile(r"(?:\.\*|\.\+|\\[wsdWSD][*+])(?:\.\*|\.\+|\\[wsdWSD][*+])")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")
# Single letters separated by spaces, dots, dashes, underscores or stars: "c a t", "c.a.t".
_SPACED = re.compile(r"(?<!\w)(?:\w[\s.\-_*]+){2,}\w(?!\w)")
_GAPS = re.compile(r"[\s.\-_*]+")


class RuleError(ValueError):
    """A rule that cannot be used; the message names it for the operator."""


@dataclass(frozen=True, slots=True)
class Rule:
    kind: RuleKind
    pattern: str


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _compile(rule: Rule) -> re.Pattern[str]:
    pattern = rule.pattern.strip()
    if not pattern:
        raise RuleError("an empty rule matches everything")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise RuleError(f"rule longer than {MAX_PATTERN_CHARS} characters: {pattern[:40]}…")
    if rule.kind == "word":
        return re.compile(rf"(?<!\w){re.escape(_normalize(pattern))}(?!\w)", re.IGNORECASE)
    if any(p.search(pattern) for p in (_NESTED, _REPEATED_ALTERNATION, _ADJACENT, _BACKREF)):
        raise RuleError(
            f"regex {pattern!r} could backtrack for a very long time; rewrite it without nested repeats"
        )
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise RuleError(f"regex {pattern!r} is not valid: {exc}") from None


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules compiled once; :meth:`first_match` says which one a text matches, if any."""

    rules: tuple[Rule, ...] = ()
    compiled: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def compile(cls, rules: Iterable[Rule]) -> RuleSet:
        kept = tuple(dict.fromkeys(rules))
        return cls(kept, tuple(_compile(r) for r in kept))

    def __add__(self, other: RuleSet) -> RuleSet:
        return RuleSet(self.rules + other.rules, self.compiled + other.compiled)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def first_match(self, text: str) -> Rule | None:
        if not self.rules:
            return None
        scanned = _normalize(text[:MAX_SCAN_CHARS])
        joined = _SPACED.sub(lambda m: _GAPS.sub("", m.group(0)), scanned)
        for rule, pattern in zip(self.rules, self.compiled, strict=True):
            if pattern.search(scanned) or (joined != scanned and pattern.search(joined)):
                return rule
        return None


def parse_rule_lines(lines: Iterable[str]) -> list[Rule]:
    """A policy file: one rule a line, ``re:`` before a regex, ``#`` starts a comment line."""
    rules: list[Rule] = []
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("re:"):
            rules.append(Rule("regex", line[3:].strip()))
        else:
            rules.append(Rule("word", line))
    return rules
