"""Regenerates the generated parts of README.md from the declarations they document.

``python -m bot.readme`` rewrites the text between ``<!-- FLAGS:BEGIN -->`` and
``<!-- FLAGS:END -->`` (the flag table, from ``commands/``) and between ``<!-- ENV:BEGIN -->``
and ``<!-- ENV:END -->`` (the variable table, from the core and backend settings models), and
between ``<!-- ADMIN:BEGIN -->`` and ``<!-- ADMIN:END -->`` (the admin subcommands, from ``commands/admin.py``);
``tests/operator/test_readme.py`` fails when the README is stale, so neither table can drift.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot.variables import documented_variables
from commands.admin import admin_table_markdown
from commands.help import flags_table_markdown
from services.backends.settings import Variable
from services.backends.stability import limits_for_engine

README = Path(__file__).resolve().parents[1] / "README.md"
_FLAGS = re.compile(r"(<!-- FLAGS:BEGIN -->\n).*?(<!-- FLAGS:END -->)", re.S)
_ENV = re.compile(r"(<!-- ENV:BEGIN -->\n).*?(<!-- ENV:END -->)", re.S)
_ADMIN = re.compile(r"(<!-- ADMIN:BEGIN -->\n).*?(<!-- ADMIN:END -->)", re.S)


def flags_section() -> str:
    limits = limits_for_engine("stable-diffusion-xl-1024-v1-0")
    return (
        "## Prompt flags\n\n"
        "Every command takes Midjourney-style flags inside the prompt text, e.g.\n"
        "`/imagine a lighthouse at dusk --ar 16:9 --seed 7 --no fog`. Typed options (Discord) and\n"
        "CLI options use the same names. Values below are those of Stability's SDXL 1.0 engine, the\n"
        "default; on another engine or a GPU host the ranges and lists come from that backend.\n\n"
        "- Weighted prompts: `a castle, sunset::0.5 fog::-0.5` (a part without `::weight` has weight 1; a negative\n"
        "  weight keeps it out of the picture, like `--no`).\n"
        "- `--flag=value` works too, and so does an em dash (`—ar`), which phones type for `--`.\n"
        "- A misspelt flag gets a suggestion (`--sed` → did you mean `--seed`?).\n\n"
        + flags_table_markdown(limits)
        + "\n"
    )


def env_table(variables: list[Variable] | None = None) -> str:
    """One row per variable; neighbours with the same meaning and default share a row."""
    rows: list[tuple[list[str], str, str]] = []
    for v in documented_variables() if variables is None else variables:
        if rows and rows[-1][1:] == (v.meaning, v.default):
            rows[-1][0].append(v.name)
        else:
            rows.append(([v.name], v.meaning, v.default))
    lines = ["| variable | meaning | default |", "| --- | --- | --- |"]
    lines += [
        f"| {', '.join(f'`{n}`' for n in names)} | {meaning} | {default} |"
        for names, meaning, default in rows
    ]
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    text = _FLAGS.sub(lambda m: m.group(1) + flags_section() + m.group(2), text)
    text = _ADMIN.sub(lambda m: m.group(1) + admin_table_markdown() + m.group(2), text)
    return _ENV.sub(lambda m: m.group(1) + env_table() + m.group(2), text)


def main() -> int:
    text = README.read_text()
    new = render(text)
    if new != text:
        README.write_text(new)
        print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
