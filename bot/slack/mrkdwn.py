"""Slack's markup for easel's sentences (:mod:`commands.replies`), and user text made safe.

Slack turns ``<!channel>``, ``<!here>``, ``<@U123>`` and ``<#C123>`` into notifications and links,
and some surfaces (file comments) also expand a bare ``@channel``. A prompt is the user's text shown
by the bot, so it must never notify anyone; error messages may quote the user's own words (a flag
value, a file name), so they are escaped too. Moments become Slack date tokens, which every reader
sees in their own time zone (the UTC time is the fallback)::

    escape_text("hi <!channel> & @here")   # 'hi &lt;!channel&gt; &amp; @\u2060here'
    error_text(InvalidRequest("--ar needs a ratio, not '<!here>'"), MARKUP)  # ":warning: … '&lt;!here&gt;'"
"""

from __future__ import annotations

import re
from datetime import datetime

from commands.replies import Icon, Markup

__all__ = ["MARKUP", "escape_text", "quote_prompt", "slack_date", "truncate"]

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


def slack_date(moment: datetime) -> str:
    """``moment`` as a Slack date token (local to each reader), falling back to UTC text."""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


_EMOJI = {
    Icon.WARNING: "warning",
    Icon.NO_ENTRY: "no_entry",
    Icon.QUEUED: "hourglass_flowing_sand",
    Icon.WORKING: "art",
    Icon.DONE: "white_check_mark",
    Icon.DELETE: "no_entry",
}
MARKUP = Markup(
    escape_text, lambda text: f"*{text}*", slack_date, {i: f":{name}:" for i, name in _EMOJI.items()}
)
"""Slack's mrkdwn: ``*bold*``, date tokens, ``:emoji:`` names."""
