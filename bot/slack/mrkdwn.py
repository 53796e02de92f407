"""Make user text safe to show in Slack messages.

Slack turns ``<!channel>``, ``<!here>``, ``<@U123>`` and ``<#C123>`` into notifications and links,
and some surfaces (file comments) also expand a bare ``@channel``. A prompt is the user's text shown
by the bot, so it must never notify anyone::

    escape_text("hi <!channel> & @here")   # 'hi &lt;!channel&gt; &amp; @\u2060here'
"""

from __future__ import annotations

import re

__all__ = ["escape_text", "quote_prompt", "truncate"]

_BROADCAST = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"


def escape_text(text: str) -> str:
    """Escape ``&``, ``<``, ``>`` (Slack's control characters) and defuse bare broadcast words."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, text)


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` characters, marking the cut with an ellipsis."""
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def quote_prompt(text: str, max_chars: int = 500) -> str:
    """A prompt as shown in a result message: escaped, shortened, without formatting characters."""
    flat = " ".join(text.split())
    # Backticks, asterisks, underscores and tildes would toggle mrkdwn formatting mid-prompt.
    flat = flat.replace("`", "'")
    return escape_text(truncate(flat, max_chars))
