"""Every sentence easel says in chat that is not markup, once for all front ends.

A front end supplies its :class:`Markup` (how to escape user text, make bold, show a moment in
each reader's time zone, and its icons) and adds only formatting around these sentences::

    DISCORD = Markup(escape=escape_markdown, bold=lambda t: f"**{t}**", when=discord_when, icons={...})
    error_text(QuotaExceeded(...), DISCORD)   # "⛔ You have 0 of your 25 daily images left and …"
    error_text(err, PLAIN, operator=view)     # the CLI: the reader is the operator, so say the cause
    queued_line(3)                            # "Queued — position 3"
    result_filename("6f1c…", 0, "png")        # "easel-6f1c…-1.png" (parsed back by Slack's shortcut)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from commands.budget_text import budget_lines_text, budget_refusal
from commands.errors import MissingOption, OptionError
from services.errors import (
    BackendMisconfigured,
    BackendUnavailable,
    BudgetExceeded,
    EaselError,
    QuotaExceeded,
    UnsupportedOption,
)
from services.jobs.queued import POSITION_CAP
from services.quota import QuotaStatus
from services.types import Operation, Progress, SourceRef

__all__ = [
    "DONE_LINE",
    "ERROR_TEXT_MAX_CHARS",
    "PAUSED_LINE",
    "PLAIN",
    "STALE_BUTTON",
    "Icon",
    "Markup",
    "OperatorView",
    "StatusLines",
    "error_text",
    "extension_for",
    "fit",
    "made_by_text",
    "made_verb",
    "not_allowed_to_delete",
    "parse_result_filename",
    "queued_line",
    "quota_text",
    "result_filename",
    "title_for",
    "unpaused_line",
    "withheld_text",
    "working_line",
]


class Icon(Enum):
    WARNING = "warning"
    NO_ENTRY = "no_entry"
    QUEUED = "queued"
    WORKING = "working"
    DONE = "done"
    DELETE = "delete"


@dataclass(frozen=True)
class Markup:
    """One platform's formatting of the sentences below."""

    escape: Callable[[str], str]  # user (or error) text made inert: no formatting, no pings
    bold: Callable[[str], str]
    when: Callable[[datetime], str]  # a moment every reader sees in their own time zone
    icons: Mapping[Icon, str]


def _utc(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


#: Plain text for a terminal: nothing to escape, no icons, times in UTC.
PLAIN = Markup(escape=str, bold=str, when=lambda m: "at " + _utc(m), icons={icon: "" for icon in Icon})


@dataclass(frozen=True)
class OperatorView:
    """What the operator's wording needs when the reader is the operator (the CLI), not a chat user.

    ``flags``: option name → how the reader spells it (``"image"`` → ``"--image"``);
    ``files``: option name → the file the reader gave for it, so image errors name the file.
    """

    command: str
    flags: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, Path] = field(default_factory=dict)
    backend: str = ""  # "EASEL_BACKEND=stability": what is configured, for "isn't available"
    account: str = ""  # the quota account charged


STALE_BUTTON = "I don't recognise that button any more. Please run the command again."
DONE_LINE = "Done — your result is in the channel."
NO_PICTURE = (
    "That message has no picture I can use. Use this shortcut on a message with a PNG, JPEG or WebP image."
)
NO_PICTURE_COMMANDS = "This image service can't work on pictures."

_TITLES = {
    "imagine": "🎨 Imagine",
    "remix": "✏️ Remix",
    "inpaint": "🩹 Inpaint",
    "upscale": "🔍 Upscale",
    "variation": "🌀 Variation",
    "reroll": "🔁 Reroll",
    "describe": "🔎 Describe",
    "again": "↩️ Run again",
}
_MADE = {
    Operation.IMAGINE: "imagined",
    Operation.REMIX: "remixed",
    Operation.INPAINT: "inpainted",
    Operation.UPSCALE: "upscaled",
    Operation.OUTPAINT: "outpainted",
}


# Every error reply fits every platform by construction: Discord allows 2,000 characters of
# message content, Slack 3,000 in a section block (4,000 in a message's text). The cut is made
# after escaping (escapes only lengthen), at a space so no escape or entity is split.
ERROR_TEXT_MAX_CHARS = 1_800  # room for a wrapper ("Sorry <name>, this could not be finished. …")


def fit(text: str, limit: int = ERROR_TEXT_MAX_CHARS) -> str:
    """``text`` if it fits in ``limit`` characters, else cut at a space before it, with "…"."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut + "…"


def error_text(error: EaselError, markup: Markup, *, operator: OperatorView | None = None) -> str:
    """The one reply for each error class (see :mod:`services.errors`).

    A chat user gets the polite ``user_message`` (an operator problem is "not set up
    correctly"); with ``operator`` the reader *is* the operator, so the text names the cause,
    the option or file at fault and what to run next. Neither ever contains a secret.
    """
    if operator is not None:
        return _operator_text(error, operator)
    return fit(_error_text(error, markup))


def _error_text(error: EaselError, markup: Markup) -> str:
    if isinstance(error, QuotaExceeded):
        if error.limit == 0:
            return f"{markup.icons[Icon.NO_ENTRY]} Image generation is turned off here. Nothing was spent."
        left = max(error.limit - error.used, 0)
        return (
            f"{markup.icons[Icon.NO_ENTRY]} You have {left} of your {error.limit} daily units left and "
            f"this request needs {error.requested}. More become available {markup.when(error.resets_at)}. "
            "Nothing was spent."
        )
    if isinstance(error, BudgetExceeded):
        return f"{markup.icons[Icon.NO_ENTRY]} {budget_refusal(error, markup.when)}"
    return f"{markup.icons[Icon.WARNING]} {markup.escape(error.user_message)}"


def _detail(error: EaselError) -> str:
    return error.log_detail.strip().rstrip(".") or "no detail"


def _operator_text(error: EaselError, view: OperatorView) -> str:
    if isinstance(error, BudgetExceeded):
        return budget_refusal(error, lambda at: f"at {_utc(at)}")
    if isinstance(error, QuotaExceeded):
        if error.limit == 0:
            return "image generation is turned off (EASEL_DAILY_QUOTA=0); set it above 0 to make images."
        left = max(error.limit - error.used, 0)
        who = f"{view.account!r} has" if view.account else "you have"
        reset = f"easel quota --reset {view.account}" if view.account else "easel quota --reset USER"
        return (
            f"quota exhausted: {who} {left} of {error.limit} daily units left (EASEL_DAILY_QUOTA, rolling 24 h) "
            f"and this needs {error.requested}. More become available at {_utc(error.resets_at)}, or run "
            f"`{reset}`. Nothing was spent."
        )
    if isinstance(error, BackendMisconfigured):
        return (
            f"the image service refused easel's credentials or account: {_detail(error)}. "
            "Check the key, the credits or the GPU host's login (`easel check` names the part). "
            "Nothing was spent."
        )
    if isinstance(error, BackendUnavailable):
        return (
            f"the image service is busy or unreachable: {_detail(error)}. "
            "Try again in a minute (`easel check` tests the connection). Nothing was spent."
        )
    if isinstance(error, MissingOption) and error.option is not None:
        flag = view.flags.get(error.option, f"--{error.option}")
        return f"easel {view.command} needs {flag} PATH ({error.user_message})"
    if isinstance(error, OptionError) and error.option in view.files:
        assert error.option is not None
        flag = view.flags.get(error.option, f"--{error.option}")
        return f"{flag} {view.files[error.option]}: {error.user_message}"
    if isinstance(error, UnsupportedOption) and error.user_message.startswith(f"/{view.command} "):
        where = f" ({view.backend})" if view.backend else ""
        return (
            f'{error.user_message.rstrip(".")}{where}. The README\'s "Image backends" section lists '
            "which backends and models have it."
        )
    return error.user_message


def quota_text(status: QuotaStatus, markup: Markup) -> str:
    if status.limit == 0:
        return "Image generation is turned off here."
    text = f"You have {markup.bold(str(status.remaining))} of your {status.limit} daily units left"
    if status.images is not None:
        text += f" ({_images(status.images)} made in the last 24 h; {COST_NOTE})"
    text += "."
    if status.resets_at is not None and status.remaining < status.limit:
        text += f" The next units come back {markup.when(status.resets_at)}."
    if status.budgets:
        text += "\n" + budget_lines_text(status.budgets, markup.when)
    return text


COST_NOTE = "an image costs 1 unit or more, by model"


def _images(n: int) -> str:
    return f"{n} image" if n == 1 else f"{n} images"


def made_by_text(model: str, fallback_from: str | None) -> str | None:
    """The note under a result made by a fallback model ("made by X — Y was unavailable"), else None."""
    if not fallback_from or fallback_from == model:
        return None
    return f"Made by {model} — {fallback_from} was unavailable."


def not_allowed_to_delete(markup: Markup, *, moderators: str | None = None) -> str:
    """``moderators``: who else may delete on that platform (``"members who can manage messages"``)."""
    also = f", or {moderators}," if moderators else ""
    return f"{markup.icons[Icon.DELETE]} Only the person who asked for these images{also} can delete them."


def queued_line(position: int, *, resumed: bool = False) -> str:
    """``position`` past :data:`POSITION_CAP` reads as "more than …" (a shared queue counts no further)."""
    if position > POSITION_CAP + 1:
        where = f"more than {POSITION_CAP:,} requests ahead of yours"
    else:
        where = "you're next" if position <= 1 else f"position {position}"
    lead = "easel restarted; your request is queued again" if resumed else "Queued"
    return f"{lead} — {where}"


PAUSED_LINE = (
    "The moderators have paused image generation. Your request keeps its place in the queue "
    "and starts when they resume"
)


def unpaused_line(position: int) -> str:
    line = queued_line(position)
    return f"Generation resumed; {line[:1].lower()}{line[1:]}"


def working_line(progress: Progress | None = None) -> str:
    if progress is None:
        return "Working on it…"
    percent = round(max(0.0, min(progress.fraction, 1.0)) * 100)
    eta = (
        f", about {round(progress.eta_s)} s left"
        if progress.eta_s is not None and progress.eta_s >= 1
        else ""
    )
    return f"Working on it… {percent} %{eta}"


class StatusLines:
    """A job sink's progress events as (icon, line) pairs, worded once; each front end's sink
    inherits this and says in :meth:`status` how a line looks and where it goes."""

    _started: bool = False  # pause notices never overwrite "working" (services.jobs.pausing)

    async def status(self, icon: Icon, line: str) -> None:
        raise NotImplementedError

    async def on_queued(self, job_id: str, position: int) -> None:
        await self.status(Icon.QUEUED, queued_line(position))

    async def on_resumed(self, job_id: str, position: int) -> None:
        await self.status(Icon.QUEUED, queued_line(position, resumed=True))

    async def on_started(self, job_id: str) -> None:
        self._started = True
        await self.status(Icon.WORKING, working_line())

    async def on_paused(self, job_id: str) -> None:
        if not self._started:
            await self.status(Icon.QUEUED, PAUSED_LINE)

    async def on_unpaused(self, job_id: str, position: int) -> None:
        if not self._started:  # a job that has started says so itself
            await self.status(Icon.QUEUED, unpaused_line(position))

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        await self.status(Icon.WORKING, working_line(progress))


def withheld_text(count: int) -> str:
    return f"{count} image(s) withheld by the safety filter (not charged)"


def title_for(kind: str) -> str:
    """The heading of a job's messages, by the command (or button) that started it."""
    return _TITLES.get(kind, "🎨 easel")


def made_verb(operation: Operation) -> str:
    """``"imagined"``: what easel did, for "<user> imagined: <prompt>"."""
    return _MADE.get(operation, "made")


def extension_for(content_type: str) -> str:
    return {"image/jpeg": "jpg", "image/webp": "webp"}.get(content_type, "png")


def result_filename(job_id: str, index: int, extension: str) -> str:
    """``easel-<job>-<n>.<ext>`` (n from 1): lets a shortcut find the clean original of a result."""
    return f"easel-{job_id}-{index + 1}.{extension}"


_FILENAME_RE = re.compile(r"^easel-(?P<job>[A-Za-z0-9_-]{1,64})-(?P<n>[1-9]\d{0,2})\.(png|jpg|jpeg|webp)$")


def parse_result_filename(name: str) -> SourceRef | None:
    """The stored original a :func:`result_filename` names, or None."""
    match = _FILENAME_RE.match(name)
    return SourceRef(match["job"], int(match["n"]) - 1) if match else None
