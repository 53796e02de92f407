"""``/easel admin …`` on Slack: who may run it, then the grammar of :mod:`commands.admin`.

Workspace admins and owners (``users.info`` ``is_admin`` / ``is_owner``) may, and so may the
members of the user group ``EASEL_SLACK_ADMIN_GROUP`` (``usergroups.users.list``, which needs
the ``usergroups:read`` scope; without it the group simply grants nobody). Both lookups are
cached for a few minutes. A refused attempt is answered privately and recorded in the audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.admin import run_admin
from services.audit import AuditLog
from services.errors import InvalidRequest
from services.jobs import JobService
from services.types import Requester

__all__ = ["SlackAdmins", "slack_admin"]

log = logging.getLogger(__name__)

_TTL_S = 300.0
REFUSED = "Only workspace admins (or the easel admin group) can use /easel admin. This attempt was logged."


class SlackAdmins:
    """A cached answer to "may this Slack user run admin commands?"."""

    def __init__(
        self, client: AsyncWebClient, group_id: str | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.client = client
        self.group_id = group_id
        self._clock = clock
        self._users: dict[str, tuple[float, bool]] = {}
        self._group: tuple[float, frozenset[str]] | None = None

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
        if self._group is not None and self._clock() - self._group[0] < _TTL_S:
            return self._group[1]
        try:
            response = await self.client.usergroups_users_list(usergroup=self.group_id)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:  # missing_scope, no_such_subteam: the group grants nobody
            log.info("slack.usergroup_lookup_failed", extra={"error": exc.response.get("error")})
            members = frozenset()
        self._group = (self._clock(), members)
        return members


async def slack_admin(admins: SlackAdmins, jobs: JobService, requester: Requester, text: str) -> str:
    """The private reply to ``/easel admin TEXT`` from ``requester``."""
    budgets = jobs.quota.budgets
    audit = AuditLog(jobs.db)
    if not await admins.is_admin(requester.user_id):
        await audit.record(requester, "admin_refused", detail=text[:80])
        return REFUSED
    if budgets is None:
        return "Budgets are not set up on this easel."
    try:
        return await run_admin(budgets, requester, requester.venue.server_id, text.split(), jobs=jobs)
    except InvalidRequest as exc:
        return exc.user_message
