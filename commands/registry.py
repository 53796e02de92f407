"""The catalogue of every command and option, readable by the modules the commands import.

:mod:`commands.flags` suggests flag spellings from every option and names the commands that take
one, yet every command module imports it, so it cannot import the package that lists them. The
package (:mod:`commands`) fills this catalogue once, right after importing its commands::

    register(COMMANDS)            # in commands/__init__.py
    known_options().by_flag("ar")  # from anywhere below
"""

from __future__ import annotations

from collections.abc import Mapping

from commands.options import ALL_OPTIONS, OptionCatalogue, OptionSpec
from commands.spec import CommandSpec

__all__ = ["commands_taking", "known_options", "register"]

_commands: dict[str, CommandSpec] = {}
_known = OptionCatalogue(ALL_OPTIONS)


def register(commands: Mapping[str, CommandSpec]) -> OptionCatalogue:
    """Make ``commands`` (and all their options) the catalogue; returns every known option."""
    global _known
    _commands.clear()
    _commands.update(commands)
    _known = OptionCatalogue((*ALL_OPTIONS, *(o for c in commands.values() for o in c.options)))
    return _known


def known_options() -> OptionCatalogue:
    """Every option of every registered command (text flags are recognised from it)."""
    return _known


def commands_taking(option: OptionSpec) -> list[str]:
    """``["/imagine", "/remix"]``: the registered commands that accept ``option``."""
    return [f"/{c.name}" for c in _commands.values() if c.takes(option)]
