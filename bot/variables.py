"""easel's public variables: every one as the README documents it, their names, and misspellings of them.

A misspelt ``EASEL_*`` name is the operator's warning that a setting they meant did not take effect.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import dotenv_values

from bot.settings import Settings
from services.backends import registry
from services.backends.settings import Variable

__all__ = ["ENV_NAMES", "OWN_PREFIXES", "UnknownVariable", "documented_variables", "unknown_variables"]


def documented_variables() -> list[Variable]:
    """Every public variable as the README documents it: the core's, each backend's after ``EASEL_BACKEND``."""
    rows: list[Variable] = []
    backend_env = Settings.env_names()["backend"]
    for row in Settings.variables():
        rows.append(row)
        if row.name == backend_env:
            for plugin in registry.PLUGINS:
                rows.extend(plugin.settings_model.variables())
    return rows


# Field name → public variable (core and every backend), for error messages and tests.
ENV_NAMES: dict[str, str] = {
    **Settings.env_names(),
    **{k: v for plugin in registry.PLUGINS for k, v in plugin.settings_model.env_names().items()},
}

#: Prefixes that only easel reads, so a name under them that easel does not know is a typo.
OWN_PREFIXES = ("EASEL_",)


@dataclass(frozen=True, slots=True)
class UnknownVariable:
    """An ``EASEL_*`` variable easel does not read (silently ignored otherwise), and where it was set."""

    name: str
    source: str  # "environment" or the .env path
    suggestion: str | None  # the closest known name, if any

    def warning(self) -> str:
        hint = f" (did you mean {self.suggestion}?)" if self.suggestion else ""
        return f"warning: {self.name} in the {self.source} is not an easel setting and is ignored{hint}"


def unknown_variables(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> list[UnknownVariable]:
    """Misspelt ``EASEL_*`` names (``EASEL_DAILY_QUOTE``) from the environment and ``.env``, with suggestions.

    Settings ignore unknown names on purpose (the environment holds much else); this is the
    operator's warning that a setting they meant did not take effect.
    """
    known = sorted(ENV_NAMES.values())
    known_upper = {name.upper() for name in known}
    sources: list[tuple[str, Mapping[str, str | None]]] = [
        ("environment", os.environ if environ is None else environ)
    ]
    if env_file is not None and env_file.is_file():
        sources.append((str(env_file), dotenv_values(env_file)))
    found: dict[str, UnknownVariable] = {}
    for source, values in sources:
        for name in values:
            upper = name.upper()
            if upper.startswith(OWN_PREFIXES) and upper not in known_upper and upper not in found:
                close = difflib.get_close_matches(upper, known, n=1, cutoff=0.75)
                found[upper] = UnknownVariable(name, source, close[0] if close else None)
    return list(found.values())
