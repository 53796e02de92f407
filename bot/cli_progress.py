"""What a CLI job is doing, on stderr: a redrawn bar on a terminal, plain lines otherwise.

::

    display = ProgressDisplay(sys.stderr)       # a TTY: one line redrawn in place
    display.queued(3)                           # "easel: queued — position 3"
    display.progress(Progress(0.4, eta_s=12))   # "[████████░░░░░░░░░░░░]  40 % · about 12 s left · 8 s"
    display.clear()                             # before results go to stdout

Piped or redirected (CI, ``2> log``), the bar would be noise: each state change becomes one
plain line, and progress is printed at most once per 10 %. The sentences are the chat's
(:mod:`commands.replies`), so both audiences read the same states.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from commands.replies import queued_line, working_line
from services.types import Progress

__all__ = ["ProgressDisplay"]

_BAR_WIDTH = 20
_PLAIN_STEP = 10  # percent between plain progress lines


class ProgressDisplay:
    """Renders a job's queue position and progress for a person at a terminal (see module docstring)."""

    def __init__(
        self, stream: TextIO, *, tty: bool | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self._clock = clock
        self._started_at: float | None = None
        self._last: Progress | None = None
        self._last_plain = 0  # the "working" line already says it started
        self._drawn = False

    def queued(self, position: int, *, resumed: bool = False) -> None:
        self._line(queued_line(position, resumed=resumed))

    def started(self) -> None:
        if self._started_at is None:
            self._started_at = self._clock()
            self._line(working_line())

    def progress(self, progress: Progress) -> None:
        if self._started_at is None:
            self.started()
        self._last = progress
        percent = round(max(0.0, min(progress.fraction, 1.0)) * 100)
        if self.tty:
            self._draw(self._bar(progress))
        elif percent >= self._last_plain + _PLAIN_STEP:
            self._last_plain = percent - percent % _PLAIN_STEP
            self._line(working_line(progress))

    def tick(self) -> None:
        """Redraw the elapsed time (terminal only): backends without progress still show life."""
        if self.tty and self._started_at is not None:
            self._draw(self._bar(self._last) if self._last else f"{working_line()} {self._elapsed()}")

    def clear(self) -> None:
        """Erase the bar so results printed next start on a clean line."""
        if self._drawn:
            self._stream.write("\r\033[K")
            self._stream.flush()
            self._drawn = False

    def note(self, text: str) -> None:
        """A line that must stay (a warning, the cancel notice), bar or not."""
        self.clear()
        print(f"easel: {text}", file=self._stream, flush=True)

    # -- drawing --

    def _elapsed(self) -> str:
        return f"{round(self._clock() - (self._started_at or self._clock()))} s"

    def _bar(self, progress: Progress) -> str:
        fraction = max(0.0, min(progress.fraction, 1.0))
        filled = round(fraction * _BAR_WIDTH)
        eta = (
            f" · about {round(progress.eta_s)} s left"
            if progress.eta_s is not None and progress.eta_s >= 1
            else ""
        )
        bar = "█" * filled + "░" * (_BAR_WIDTH - filled)
        return f"[{bar}] {round(fraction * 100):3d} %{eta} · {self._elapsed()}"

    def _line(self, text: str) -> None:
        if self.tty:
            self._draw(text)
        else:
            print(f"easel: {text}", file=self._stream, flush=True)

    def _draw(self, text: str) -> None:
        self._stream.write(f"\r\033[K{text}")
        self._stream.flush()
        self._drawn = True
