"""What every ``easel`` subcommand shares: exit codes, the one-line failure, settings, the login name.

Kept free of heavy imports (settings, asyncio, aiohttp, Pillow load inside the functions that
need them) so ``easel --help`` starts about as fast as Python itself (``bench/cli_start.py``).
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = [
    "EXIT_BACKEND",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_QUOTA",
    "EXIT_USAGE",
    "fail",
    "load_cli_settings",
    "login_name",
    "scrub",
]

EXIT_OK, EXIT_BACKEND, EXIT_USAGE, EXIT_QUOTA = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def fail(message: str, code: int) -> int:
    """Print ``easel: <message>`` on stderr and return ``code`` (for ``return fail(...)``)."""
    print(f"easel: {message}", file=sys.stderr)
    return code


def login_name() -> str:
    """The operator's login name for the CLI's quota account; never fails.

    ``getpass.getuser()`` raises (``KeyError: 'getpwuid(): uid not found'``) for a uid with no
    passwd entry and no ``$USER`` — common in containers started with ``--user 12345``. Then
    the account is ``uid-12345``.
    """
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "cli"


def load_cli_settings() -> Settings:
    """Settings from the environment and ``.env``, after warning (stderr) about unknown ``EASEL_*`` names.

    Raises :class:`bot.errors.SettingsError` naming each invalid variable.
    """
    from bot.settings import load_settings
    from bot.variables import unknown_variables

    for unknown in unknown_variables():
        print(f"easel: {unknown.warning()}", file=sys.stderr)
    return load_settings()


def scrub(message: str, settings: Settings) -> str:
    """``message`` with every configured secret replaced by ``***`` (a second line of defence)."""
    for secret in settings.secret_values():
        if secret:
            message = message.replace(secret, "***")
    return message
