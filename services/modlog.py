"""The moderation log: each audit entry as one line in the operator's moderators' channel.

::

    feed = ModLogFeed(AuditLog(db), "discord", post=send_to_modlog_channel, escape=escape_markdown)
    await feed.start()      # from now on: every new refusal and admin action, one line each
    ...
    await feed.close()

The audit log (:mod:`services.audit`) is the one record of policy refusals, bans and every
admin action, written by whichever part made them, so the feed reads that table rather than
being called by each writer: nothing can be left out, and actions taken with ``easel admin`` at
the command line (another process) show up too. Each front end with a moderation channel runs
a feed for its own platform's entries (``discord:…`` actors on Discord); entries made by the
operator (the CLI) go to every feed. Lines carry no secrets (the audit log holds none) and cut
people's words (prompts, reasons) to :data:`EXCERPT_CHARS`.

A failed or slow post is logged and skipped: it never touches a job, and the feed goes on.

Where a feed has got to is stored (table ``modlog_cursors``, one row per platform and channel):
several gateways sharing one PostgreSQL database run the same feed, and a batch of entries is
posted by the one process that moves the stored cursor past it (a compare-and-set), so each line
appears once; a restart goes on from there, posting what was recorded while easel was down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

from services.audit import AuditEntry, AuditLog, excerpt

__all__ = ["EXCERPT_CHARS", "ModLogFeed", "modlog_line"]

log = logging.getLogger(__name__)

EXCERPT_CHARS = 60
POLL_S = 0.5
POST_TIMEOUT_S = 10.0
_OPERATOR_PLATFORMS = ("cli", "operator")

_WHAT: dict[str, str] = {
    "policy.blocked": "was refused by the prompt block list",
    "policy.adult_refused": "was refused an adult-only prompt outside an age-restricted channel",
    "backend.content_filtered": "had images withheld by the backend's safety filter",
    "admin_refused": "tried an admin command without permission",
    "policy.rule_added": "added a prompt rule",
    "policy.rule_removed": "removed a prompt rule",
    "set_limit": "set the limit",
    "grant": "granted extra units to",
    "ban": "banned",
    "unban": "lifted the ban on",
    "pause": "paused generation",
    "resume": "resumed generation",
    "cancel": "cancelled the job",
    "delete": "deleted the result",
}
_TARGET_IS_RULE = {"policy.blocked", "policy.adult_refused"}


def modlog_line(entry: AuditEntry, escape: Callable[[str], str] = lambda text: text) -> str:
    """``10:04 UTC · server 81… · discord:12 banned discord:34 — spam`` (people's words escaped and cut)."""
    what = _WHAT.get(entry.action, entry.action)
    target, detail = entry.target, excerpt(entry.detail, EXCERPT_CHARS)
    parts = [f"{entry.at.astimezone(UTC):%H:%M} UTC"]
    if entry.server_id:
        parts.append(f"server {entry.server_id}")
    body = f"{escape(entry.actor_key)} {what}"
    if target and entry.action in _TARGET_IS_RULE:
        body += f" (rule {escape(excerpt(target, EXCERPT_CHARS))})"
    elif target:
        body += f" {escape(excerpt(target, EXCERPT_CHARS))}"
    if detail:
        body += f" — {escape(detail)}"
    return " · ".join([*parts, body])


class ModLogFeed:
    """Tails the audit log and posts the entries of one platform (and the operator's) as lines."""

    def __init__(
        self,
        audit: AuditLog,
        platform: str,
        *,
        post: Callable[[str], Awaitable[object]],
        channel: str = "",
        escape: Callable[[str], str] = lambda text: text,
        poll_s: float = POLL_S,
        post_timeout_s: float = POST_TIMEOUT_S,
    ) -> None:
        self.audit = audit
        self.platform = platform
        self.feed = f"{platform}:{channel}"  # its stored cursor: one per platform and channel
        self._post = post
        self._escape = escape
        self.poll_s = poll_s
        self.post_timeout_s = post_timeout_s
        self._after = 0
        self._task: asyncio.Task[None] | None = None
        self.posted = 0
        self.failed = 0

    def wants(self, entry: AuditEntry) -> bool:
        platform = entry.actor_key.partition(":")[0]
        return platform == self.platform or platform in _OPERATOR_PLATFORMS

    async def start(self) -> None:
        """Post from the stored cursor on; a new feed starts at the newest entry (older ones stay in
        ``/easel admin audit``)."""
        db = self.audit.db
        await db.execute(
            "INSERT INTO modlog_cursors (feed, last_id) VALUES (?, ?) ON CONFLICT (feed) DO NOTHING",
            (self.feed, await self.audit.last_id()),
        )
        self._after = await self._cursor()
        self._task = asyncio.create_task(self._run(), name=f"modlog:{self.platform}")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.once()
            except Exception:  # the database is busy or gone for a moment: try again next time
                log.warning("modlog.read_failed", exc_info=True, extra={"platform": self.platform})
            await asyncio.sleep(self.poll_s)

    async def once(self) -> None:
        """Post the entries recorded since the last call, if this process is the one to take them."""
        after = self._after  # as read: a concurrent call may move it meanwhile
        entries = await self.audit.since(after)
        if not entries:
            return
        taken = await self.audit.db.execute(
            "UPDATE modlog_cursors SET last_id = ? WHERE feed = ? AND last_id = ?",
            (entries[-1].id, self.feed, after),
        )
        if not taken:  # another process posted these (or more): go on from where it got to
            self._after = await self._cursor()
            return
        self._after = entries[-1].id  # a line that cannot be posted is skipped, not retried for ever
        for entry in entries:
            if self.wants(entry):
                await self._send(entry)

    async def _cursor(self) -> int:
        row = await self.audit.db.fetchone("SELECT last_id FROM modlog_cursors WHERE feed = ?", (self.feed,))
        return int(row["last_id"]) if row is not None else 0

    async def _send(self, entry: AuditEntry) -> None:
        try:
            async with asyncio.timeout(self.post_timeout_s):
                await self._post(modlog_line(entry, self._escape))
            self.posted += 1
        except Exception as exc:
            self.failed += 1
            log.warning(
                "modlog.post_failed",
                extra={"platform": self.platform, "action": entry.action, "error_kind": type(exc).__name__},
            )
