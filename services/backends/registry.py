"""Every backend easel can use, one line each; ``EASEL_BACKEND`` names one of them.

::

    plugin = registry.get("gpu-host")          # or an alias: registry.get("a1111")
    backend = plugin.build(settings, context)

The first plugin is the default. To add a backend, see :mod:`services.backends.plugin`.
"""

from __future__ import annotations

from typing import Any

from services.backends.a1111.plugin import PLUGIN as A1111
from services.backends.comfyui.plugin import PLUGIN as COMFYUI
from services.backends.gemini.plugin import PLUGIN as GEMINI
from services.backends.openai.plugin import PLUGIN as OPENAI
from services.backends.plugin import BackendConfigError, BackendPlugin
from services.backends.stability.plugin import PLUGIN as STABILITY

__all__ = ["DEFAULT", "PLUGINS", "UnknownBackend", "choices_markdown", "get"]

PLUGINS: tuple[BackendPlugin[Any], ...] = (
    STABILITY,
    A1111,
    OPENAI,
    GEMINI,
    COMFYUI,
)
DEFAULT = PLUGINS[0]


class UnknownBackend(BackendConfigError):
    """``EASEL_BACKEND`` names no registered plugin; the message lists the valid values."""


def get(name: str) -> BackendPlugin[Any]:
    """The plugin called ``name`` or one of its aliases (any case)."""
    wanted = name.strip().lower()
    for plugin in PLUGINS:
        if wanted in (n.lower() for n in plugin.names):
            return plugin
    raise UnknownBackend(f"{name!r} is not a backend easel knows; choose one of: {_choices()}")


def choices_markdown() -> str:
    """The valid ``EASEL_BACKEND`` values for the README: ``stability``, ``gpu-host`` (alias ``a1111``) … or ``comfyui``."""
    parts = []
    for plugin in PLUGINS:
        aliases = ", ".join(f"`{a}`" for a in plugin.aliases)
        parts.append(f"`{plugin.name}`" + (f" (alias {aliases})" if aliases else ""))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _choices() -> str:
    return ", ".join(
        plugin.name + (f" (or {', '.join(plugin.aliases)})" if plugin.aliases else "") for plugin in PLUGINS
    )
