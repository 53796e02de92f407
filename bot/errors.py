"""The operator-facing errors: what stops easel from running, worded for the person running it.

Errors a chat user can cause or see are :mod:`services.errors`; these are for the operator,
on stderr or in the log, and end the process (``easel`` maps each to an exit status)::

    OperatorError                 message: one line naming the variable to fix, never a secret
    ├── SettingsError             configuration invalid or incomplete             (exit 2)
    └── StartupError              a part could not start: a front end, a port     (exit 1)

``str(err)`` is the message; ``log_detail`` holds what only the log should carry (an
exception's type, a status code). The data-dir lock's ``DataDirBusy`` (exit 2) belongs here too.
"""

from __future__ import annotations

__all__ = ["OperatorError", "SettingsError", "StartupError"]


class OperatorError(Exception):
    """Base class: easel cannot go on until the operator changes something."""

    def __init__(self, message: str, *, log_detail: str = "") -> None:
        self.message = message
        self.log_detail = log_detail
        super().__init__(message)


class SettingsError(OperatorError):
    """Configuration is invalid or incomplete; the message names each variable and never a secret value."""


class StartupError(OperatorError):
    """``easel run`` could not start a part (a front end, the health endpoint)."""
