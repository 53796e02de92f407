"""What easel says on Slack when a request is refused or a job fails: one text per error class.

Error messages are platform-neutral and may quote the user's own words (a flag value, a file
name), so they are escaped like any user text before Slack sees them: ``<!channel>`` in a bad
flag is shown, never expanded. The quota reset time becomes a Slack date token, which every
reader sees in their own time zone (the UTC time is the fallback)::

    error_text(InvalidRequest("--ar needs a ratio, not '<!here>'"))   # ":warning: … '&lt;!here&gt;'"
"""

from __future__ import annotations

from datetime import datetime

from bot.slack.mrkdwn import escape_text
from services.errors import EaselError, QuotaExceeded

__all__ = ["error_text", "slack_date"]


def slack_date(moment: datetime) -> str:
    """``moment`` as a Slack date token (local to each reader), falling back to UTC text."""
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def error_text(error: EaselError) -> str:
    """The private reply for ``error`` (see :mod:`services.errors`)."""
    if isinstance(error, QuotaExceeded):
        left = max(error.limit - error.used, 0)
        return (
            f":no_entry: You have {left} of your {error.limit} daily images left and this request needs "
            f"{error.requested}. More become available {slack_date(error.resets_at)}. Nothing was spent."
        )
    return f":warning: {escape_text(error.user_message)}"
