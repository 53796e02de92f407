"""Escaping user text for Discord: easel's one-pass escape against ``discord.utils.escape_markdown``.

discord.py's link pattern ``\\[.+\\]\\(.+\\)`` backtracks cubically on text like ``[](`` repeated,
and the escape runs on the event loop (the result embed shows the prompt): every other interaction
waits meanwhile. Baseline: ``str.replace`` of one character over the same text, same run.

Run: ``.venv/bin/python bench/markdown_escape.py`` (best of 3 of each).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import discord

from bot.discord.render import safe

TEXTS = {
    "plain prose, 4,000 chars": ("a lighthouse at dusk, oil painting, " * 120)[:4000],
    "'[](' x 667 (2,000 chars)": "[](" * 667,
    "'[](' x 1,333 (4,000 chars)": "[](" * 1333,
    "'[a](' x 1,000 (4,000 chars)": "[a](" * 1000,
}


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    print(f"{'text':32} {'baseline':>10} {'easel safe()':>14} {'escape_markdown':>16}  ratio md/safe")
    for name, text in TEXTS.items():
        base = best_of(lambda text=text: text.replace("*", "\\*"))
        ours = best_of(lambda text=text: safe(text, 4096))
        theirs = best_of(lambda text=text: discord.utils.escape_markdown(text), runs=1)
        print(
            f"{name:32} {base * 1e3:8.3f}ms {ours * 1e3:12.3f}ms {theirs * 1e3:14.1f}ms"
            f"  {theirs / max(ours, 1e-9):10.0f}x  (safe = {ours / max(base, 1e-9):.0f}x baseline)"
        )


if __name__ == "__main__":
    main()
