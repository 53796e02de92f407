"""Cold start of the ``easel`` CLI, as ratios against ``python -c pass`` measured in the same run.

``easel --help`` must not read settings or import the job runner, aiohttp or the chat
libraries; what it still imports is :mod:`commands` (the option declarations the
subcommands are generated from). For scale, the last row imports what ``easel run`` needs.

Run: ``.venv/bin/python bench/cli_start.py`` (median of 9 runs of each, interleaved).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 9
EASEL = str(Path(sys.executable).with_name("easel"))

CASES: dict[str, list[str]] = {
    "python -c pass (baseline)": [sys.executable, "-c", "pass"],
    "easel --version": [EASEL, "--version"],
    "easel --help": [EASEL, "--help"],
    "easel imagine --help": [EASEL, "imagine", "--help"],
    "python -c 'import commands'": [sys.executable, "-c", "import commands"],
    "import bot.settings + bot.app (what run loads)": [sys.executable, "-c", "import bot.settings, bot.app"],
}


def _time(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    samples: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(RUNS):
        for name, cmd in CASES.items():
            samples[name].append(_time(cmd))
    base = statistics.median(samples["python -c pass (baseline)"])
    print(f"{'case':48} {'median ms':>10} {'× pass':>8}")
    for name, values in samples.items():
        median = statistics.median(values)
        print(f"{name:48} {median * 1000:10.1f} {median / base:8.2f}")


if __name__ == "__main__":
    main()
