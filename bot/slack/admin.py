"""``/easel admin …`` on Slack: who may run it, then the grammar of :mod:`commands.admin`.

Workspace admins and owners (``users.info`` ``is_admin`` / ``is_owner``) may, and so may the
members of the user group ``EASEL_SLACK_ADMIN_GROUP`` (``usergroups.users.list``, which needs
the ``usergroups:read`` scope; without it the group simply grants nobody). Both lookups are
cached for a few minutes. A refused attempt is answered privately and recorded in the audit log.
The same people may delete anyone's result with its 🗑 button (:func:`moderator_delete`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.mrkdwn import MARKUP, escape_text
from bot.slack.usergroups import SlackUserGroups
from commands.admin import run_admin
from commands.replies import error_text
from services.audit import AuditLog, excerpt
from services.errors import EaselError, InvalidRequest
from services.jobs import JobService
from services.types import Requester

__all__ = ["MODERATORS", "REFUSED", "SlackAdmins", "moderator_delete", "slack_admin"]

log = logging.getLogger(__name__)

_TTL_S = 300.0
REFUSED = "Only workspace admins (or the easel admin group) can use /easel admin. This attempt was logged."
MODERATORS = "workspace admins and the easel admin group"


class SlackAdmins:
    """A cached answer to "may this Slack user run admin commands?" (and delete anyone's result)."""

    def __init__(
        self,
        client: AsyncWebClient,
        group_id: str | None,
        clock: Callable[[], float] = time.monotonic,
        groups: SlackUserGroups | None = None,
    ) -> None:
        self.client = client
        self.group_id = group_id
        self._clock = clock
        self.groups = groups or SlackUserGroups(client, ttl_s=_TTL_S, clock=clock)
        self._users: dict[str, tuple[float, bool]] = {}

    async def is_admin(self, user_id: str) -> bool:
        return await self._workspace_admin(user_id) or user_id in await self.group_members()

    async def _workspace_admin(self, user_id: str) -> bool:
        cached = self._users.get(user_id)
        if cached is not None and self._clock() - cached[0] < _TTL_S:
            return cached[1]
        try:
            response = await self.client.users_info(user=user_id)
            user = response.get("user") or {}
            answer = bool(user.get("is_admin") or user.get("is_owner"))
        except SlackApiError as exc:
            log.info("slack.users_info_failed", extra={"error": exc.response.get("error")})
            return False  # not cached: ask again next time
        self._users[user_id] = (self._clock(), answer)
        return answer

    async def group_members(self) -> frozenset[str]:
        if not self.group_id:
            return frozenset()
        return await self.groups.members(self.group_id)


async def moderator_delete(admins: SlackAdmins | None, jobs: JobService, by: Requester, job_id: str) -> bool:
    """Delete someone else's result if ``by`` is an easel admin here (audited); False if not allowed."""
    if admins is None or not await admins.is_admin(by.user_id):
        return False
    record = await jobs.delete(job_id, by=by, moderator=True)
    await AuditLog(jobs.db).record(by, "delete", target=record.job_id, detail=record.requester.key)
    return True


async def slack_admin(admins: SlackAdmins, jobs: JobService, requester: Requester, text: str) -> str:
    """The private reply to ``/easel admin TEXT`` from ``requester``."""
    budgets = jobs.quota.budgets
    audit = AuditLog(jobs.db)
    if not await admins.is_admin(requester.user_id):
        await audit.record(requester, "admin_refused", detail=excerpt(text))
        return REFUSED
    if budgets is None:
        return "Budgets are not set up on this easel."
    try:
        reply = await run_admin(budgets, requester, requester.venue.server_id, text.split(), jobs=jobs)
    except InvalidRequest as exc:
        return escape_text(exc.user_message)
    except EaselError as exc:  # e.g. cancel/delete of a job that is not this workspace's
        return error_text(exc, MARKUP)
    return escape_text(reply)  # ban reasons and the like are people's words: no <!channel> pings
