"""Regenerates the generated parts of README.md from the declarations they document.

``python -m bot.readme`` rewrites the text between ``<!-- FLAGS:BEGIN -->`` and
``<!-- FLAGS:END -->``; ``tests/test_readme.py`` fails when the README is stale, so the
flag table can never drift from ``commands/``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from commands.help import flags_table_markdown
from services.backends.stability import limits_for_engine

README = Path(__file__).resolve().parents[1] / "README.md"
_FLAGS = re.compile(r"(<!-- FLAGS:BEGIN -->\n).*?(<!-- FLAGS:END -->)", re.S)


def flags_section() -> str:
    limits = limits_for_engine("stable-diffusion-xl-1024-v1-0")
    return (
        "## Prompt flags\n\n"
        "Every command takes Midjourney-style flags inside the prompt text, e.g.\n"
        "`/imagine a lighthouse at dusk --ar 16:9 --seed 7 --no fog`. Typed options (Discord) and\n"
        "CLI options use the same names. Values below are those of Stability's SDXL 1.0 engine, the\n"
        "default; on another engine or a GPU host the ranges and lists come from that backend.\n\n"
        "- Weighted prompts: `a castle::2 fog::-0.5` (a part without `::weight` has weight 1; a negative\n"
        "  weight keeps it out of the picture, like `--no`).\n"
        "- `--flag=value` works too, and so does an em dash (`—ar`), which phones type for `--`.\n"
        "- A misspelt flag gets a suggestion (`--sed` → did you mean `--seed`?).\n\n"
        + flags_table_markdown(limits)
        + "\n"
    )


def render(text: str) -> str:
    return _FLAGS.sub(lambda m: m.group(1) + flags_section() + m.group(2), text)


def main() -> int:
    text = README.read_text()
    new = render(text)
    if new != text:
        README.write_text(new)
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
