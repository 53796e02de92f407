"""The CLI's progress display, its cold start, and the shipped watermark font."""

from __future__ import annotations

import asyncio
import io
import json
import sys

from PIL import ImageFont

from bot.cli_progress import ProgressDisplay
from services.fonts import WATERMARK_FONT
from services.types import Progress


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_one_bar_is_redrawn_in_place_and_erased_before_results() -> None:
    stream, clock = io.StringIO(), _Clock()
    display = ProgressDisplay(stream, tty=True, clock=clock)
    display.queued(3)
    display.started()
    clock.now += 8
    display.progress(Progress(0.4, eta_s=12))
    text = stream.getvalue()
    assert "\n" not in text  # everything redrawn on one line
    assert text.count("\r\033[K") == 3
    assert "Queued — position 3" in text
    assert text.endswith("[████████░░░░░░░░░░░░]  40 % · about 12 s left · 8 s")
    clock.now += 5
    display.tick()
    assert stream.getvalue().endswith("40 % · about 12 s left · 13 s")
    display.clear()
    assert stream.getvalue().endswith("\r\033[K")
    display.note("interrupted")
    assert stream.getvalue().endswith("easel: interrupted\n")


def test_piped_it_prints_plain_lines_at_most_every_ten_percent() -> None:
    stream = io.StringIO()
    display = ProgressDisplay(stream, tty=False)
    display.queued(1)
    for fraction in (0.0, 0.05, 0.12, 0.15, 0.5, 0.99):
        display.progress(Progress(fraction))
    display.tick()  # no elapsed-time redraws in a log
    assert stream.getvalue().splitlines() == [
        "easel: Queued — you're next",
        "easel: Working on it…",
        "easel: Working on it… 12 %",
        "easel: Working on it… 50 %",
        "easel: Working on it… 99 %",
    ]
    assert "\r" not in stream.getvalue()


_PROBE = """
import contextlib, io, json, sys
from bot.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main(["--help"])
    except SystemExit:
        pass
heavy = ["bot.settings", "bot.app", "services.jobs", "aiohttp", "discord", "slack_bolt", "pydantic_settings"]
print(json.dumps({"help": out.getvalue(), "loaded": [m for m in heavy if m in sys.modules]}))
"""


async def test_help_reads_no_settings_and_imports_no_heavy_module() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _PROBE, env={"EASEL_DAILY_QUOTA": "not a number", "PATH": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    result = json.loads(out)
    assert result["loaded"] == []  # and an invalid setting did not stop --help
    for command in ("run", "check", "imagine", "upscale", "quota", "slack-manifest"):
        assert command in result["help"]


def test_the_watermark_font_ships_with_easel() -> None:
    assert WATERMARK_FONT.is_file()
    assert (WATERMARK_FONT.parent / "LICENSE-DejaVu.txt").is_file()
    font = ImageFont.truetype(WATERMARK_FONT, 24)
    assert font.getname() == ("DejaVu Sans", "Bold")
