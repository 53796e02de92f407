"""Slack user groups as easel sees them: who is in a group, and which groups count as a person's roles.

Slack's equivalent of Discord's roles for budgets (issue 10): an admin sets ``role:S0123 50``
with ``/easel admin set``, and members of the user group ``S0123`` get 50 units a day, exactly
as Discord role overrides work (:meth:`services.budgets.Limits.person_limit`). Membership comes
from ``usergroups.users.list`` (scope ``usergroups:read``); an app without the scope, or a
group that does not exist, simply has no members. Answers are cached for ``ttl_s`` (one call
per group every few minutes, however many requests), and only groups that some override
names are ever asked about.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from services.budgets import BudgetBook
from services.types import Requester

__all__ = ["GROUP_TTL_S", "SlackUserGroups"]

log = logging.getLogger(__name__)

GROUP_TTL_S = 300.0


class SlackUserGroups:
    """A cached ``usergroups.users.list``."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl_s: float = GROUP_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.ttl_s = ttl_s
        self._clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}  # one lookup per group at a time: a burst asks once

    async def members(self, group_id: str) -> frozenset[str]:
        async with self._locks.setdefault(group_id, asyncio.Lock()):
            cached = self._members.get(group_id)
            if cached is not None and self._clock() - cached[0] < self.ttl_s:
                return cached[1]
            return await self._lookup(group_id)

    async def _lookup(self, group_id: str) -> frozenset[str]:
        try:
            response = await self.client.usergroups_users_list(usergroup=group_id)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:  # missing_scope, no_such_subteam: the group has nobody
            log.info("slack.usergroup_lookup_failed", extra={"error": exc.response.get("error")})
            members = frozenset()
        except (
            aiohttp.ClientError,
            TimeoutError,
        ) as exc:  # Slack unreachable: nobody now, ask again next time
            log.warning("slack.usergroup_lookup_failed", extra={"error": type(exc).__name__})
            return frozenset()
        self._members[group_id] = (self._clock(), members)
        return members

    async def groups_of(self, user_id: str, candidates: Iterable[str]) -> frozenset[str]:
        """Which of ``candidates`` (user group ids) ``user_id`` belongs to."""
        return frozenset([g for g in sorted(set(candidates)) if user_id in await self.members(g)])

    async def with_groups(self, requester: Requester, budgets: BudgetBook | None) -> Requester:
        """``requester`` with the user groups that this workspace's role overrides name as its role ids."""
        if budgets is None or requester.platform != "slack":
            return requester
        limits = await budgets.limits_for(requester.venue.server_id)
        if not limits.role_day:
            return requester
        groups = await self.groups_of(requester.user_id, limits.role_day)
        return replace(requester, venue=replace(requester.venue, role_ids=requester.venue.role_ids | groups))
