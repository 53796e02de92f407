"""A clock tests move by hand, for code that takes ``clock=`` (quota windows, retention)."""

from __future__ import annotations

T0 = 1_700_000_000.0  # a fixed "now": 2023-11-14 22:13:20 UTC


class FakeClock:
    """``clock()`` returns ``now``; a test sets ``clock.now`` to move time."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
