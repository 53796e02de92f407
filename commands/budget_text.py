"""The sentences for community limits (issue 10): each refusal names the limit, what is left and when it resets.

Written once here; :mod:`commands.replies` adds the platform's icon and time format (``when``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from services.budgets import BudgetLine, LimitName
from services.errors import BudgetExceeded

__all__ = ["budget_lines_text", "budget_refusal"]

When = Callable[[datetime], str]

_UNITS = {
    LimitName.SERVER_DAY: "this server's daily budget",
    LimitName.SERVER_MONTH: "this server's monthly budget",
}


def budget_refusal(error: BudgetExceeded, when: When) -> str:
    """The private reply to a request a community limit refused; always ends "Nothing was spent."."""
    limit = LimitName(error.limit)
    if limit is LimitName.BAN:
        text = "You can't use easel here: a moderator has blocked you from the bot."
    elif limit is LimitName.PAUSED:
        text = "Image generation is paused by the moderators for now."
    elif limit is LimitName.CHANNEL:
        text = "easel isn't enabled in this channel; ask in a channel the moderators chose for it."
    elif limit is LimitName.COOLDOWN:
        after = f" You can ask again {when(error.resets_at)}." if error.resets_at else ""
        text = f"Please wait between requests (the cool-down here is {error.allowed} s).{after}"
    elif limit is LimitName.CONCURRENT:
        text = (
            f"You already have {error.allowed} of your {error.allowed} allowed jobs running at once; "
            "ask again when one finishes."
        )
    else:
        what = _UNITS.get(limit, limit.value)
        text = (
            f"{what[0].upper()}{what[1:]} has {error.left} of {error.allowed} units left and this request "
            f"needs {error.requested}."
        )
        if error.resets_at is not None:
            text += f" It resets {when(error.resets_at)}."
    return f"{text} Nothing was spent."


def budget_lines_text(lines: tuple[BudgetLine, ...], when: When) -> str:
    """The other limits ``/quota`` lists under the person's own daily units (one line each)."""
    out: list[str] = []
    for line in lines:
        if line.name in _UNITS:
            left = max(line.allowed - line.used, 0)
            reset = f", resets {when(line.resets_at)}" if line.resets_at else ""
            out.append(
                f"{_UNITS[line.name][0].upper()}{_UNITS[line.name][1:]}: {left} of {line.allowed} left{reset}."
            )
        elif line.name is LimitName.CONCURRENT:
            out.append(f"Jobs at once: {line.used} running of {line.allowed} allowed.")
        elif line.name is LimitName.COOLDOWN:
            out.append(f"Cool-down between requests: {line.allowed} s.")
    return "\n".join(out)
