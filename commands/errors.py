"""Errors of the commands package: bad options, each naming the option at fault.

::

    InvalidRequest (services.errors)
    └── OptionError            a flag/option value is wrong; ``.option`` names it (or None)
        ├── MissingOption      a required option (an image) was not given
        └── OptionUnsupported  also an UnsupportedOption: this command or backend can't take it

Front ends may use ``.option`` to attach the message to a form field (Slack modals);
everything else treats these as plain :class:`InvalidRequest`.
"""

from __future__ import annotations

from services.errors import InvalidRequest, UnsupportedOption

__all__ = ["ECHO_CHARS", "MissingOption", "OptionError", "OptionUnsupported", "cut", "quote"]

# How much of what a user typed a message may repeat: enough to recognise it, never a flood
# (a 5,000-character flag echoed whole once pushed a Discord reply over its 2,000-character limit).
ECHO_CHARS = 40


def cut(text: object, limit: int = ECHO_CHARS) -> str:
    """``text`` as a short excerpt: unchanged when short, else its start, "…" and its length."""
    shown = str(text)
    if len(shown) <= limit:
        return shown
    return f"{shown[: limit - 1]}… ({len(shown):,} characters)"


def quote(text: object, limit: int = ECHO_CHARS) -> str:
    """:func:`cut` in quotes, for a value the user gave: ``'banana'``."""
    shown = str(text)
    if len(shown) <= limit:
        return f"'{shown}'"
    return f"'{shown[: limit - 1]}…' ({len(shown):,} characters)"


class OptionError(InvalidRequest):
    """A user-supplied option is wrong; ``option`` is the OptionSpec name (``"seed"``) or None."""

    def __init__(self, user_message: str, *, option: str | None = None, log_detail: str = "") -> None:
        super().__init__(user_message, log_detail=log_detail)
        self.option = option


class MissingOption(OptionError):
    """A required option was not given; the CLI names its flag, chat front ends say "attach one"."""


class OptionUnsupported(OptionError, UnsupportedOption):
    """The option exists, but not for this command or not on the configured backend."""
