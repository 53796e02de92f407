"""Figures for "yours is X; the most I accept is Y" that never read the same on both sides.

::

    >>> over_and_limit(10_500_000, 10_485_760, scale=1_048_576)
    ('10.01', '10')
    >>> over_and_limit(16_777_217, 16_777_216, scale=1e6)
    ('16.777217', '16.777216')

Rounding both to one decimal would print "10 MB; the largest I accept is 10 MB". Digits are
added until the two differ (the exact figures at worst), so the user sees by how much they
are over; trailing zeros go.
"""

from __future__ import annotations

__all__ = ["over_and_limit"]

_MAX_DECIMALS = 9


def over_and_limit(value: float, limit: float, *, scale: float = 1.0, trim: bool = True) -> tuple[str, str]:
    """``value`` and ``limit`` divided by ``scale``, with just enough decimals to tell them apart.

    ``trim`` drops trailing zeros ("10", "10.5"); without it one decimal always stays ("10.0").
    """
    for decimals in range(1, _MAX_DECIMALS + 1):
        shown = _fmt(value / scale, decimals, trim), _fmt(limit / scale, decimals, trim)
        if shown[0] != shown[1] or value == limit:
            return shown
    return _fmt(value / scale, _MAX_DECIMALS, trim), _fmt(limit / scale, _MAX_DECIMALS, trim)


def _fmt(number: float, decimals: int, trim: bool) -> str:
    text = f"{number:.{decimals}f}"
    if trim:
        return text.rstrip("0").rstrip(".")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.rstrip('0') or '0'}"
