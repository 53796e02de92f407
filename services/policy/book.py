"""The prompt policy: who may ask for what, checked once before any job is reserved.

Global rules come from the operator's configuration (:class:`PolicyConfig`); each server adds its
own in ``policy_rules`` (this module owns that table), managed through :meth:`PolicyBook.add_rule`,
:meth:`PolicyBook.remove_rule` and :meth:`PolicyBook.list_rules` (the admin surface calls them)::

    book = PolicyBook(db, audit, PolicyConfig.build(blocked=["gore"], adult=["nude"]))
    await book.add_rule("guild-1", Rule("regex", r"celeb\\w*"), actor="discord:42")
    await book.check(requester, request)    # raises PromptBlocked / AdultOnlyHere, audited

Adult-only requests run on Discord only in channels Discord marks age-restricted (``Venue.nsfw``);
Slack has no such flag, so there they run only in the channels the operator lists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from services.audit import AuditLog, excerpt
from services.db import Database
from services.policy.errors import AdultOnlyHere, PromptBlocked
from services.policy.rules import Rule, RuleSet
from services.types import GenerationRequest, Requester

__all__ = ["PolicyBook", "PolicyConfig", "ServerRule"]

ListName = Literal["block", "adult"]


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The operator's global lists, compiled at start (a bad rule fails the start, naming it)."""

    blocked: RuleSet = field(default_factory=RuleSet)
    adult: RuleSet = field(default_factory=RuleSet)
    slack_adult_channels: frozenset[str] = frozenset()

    @classmethod
    def build(
        cls,
        *,
        blocked: Iterable[Rule | str] = (),
        adult: Iterable[Rule | str] = (),
        slack_adult_channels: Iterable[str] = (),
    ) -> PolicyConfig:
        def rules(items: Iterable[Rule | str]) -> RuleSet:
            return RuleSet.compile(r if isinstance(r, Rule) else Rule("word", r) for r in items)

        return cls(rules(blocked), rules(adult), frozenset(slack_adult_channels))


@dataclass(frozen=True, slots=True)
class ServerRule:
    id: int
    server_id: str
    list: ListName
    rule: Rule


class PolicyBook:
    """Block list and adult-only list, global plus per server; refusals go to the audit log."""

    def __init__(
        self, db: Database, audit: AuditLog, config: PolicyConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = db
        self.audit = audit
        self.config = config
        self._clock = clock
        self._cache: dict[str, tuple[RuleSet, RuleSet]] = {}

    async def add_rule(
        self, server_id: str, rule: Rule, *, list: ListName = "block", actor: str = ""
    ) -> ServerRule:
        """Add one rule for ``server_id`` (compiled first: a bad regex raises ``RuleError``)."""
        RuleSet.compile([rule])
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT OR IGNORE INTO policy_rules (server_id, list, kind, pattern, created_at, created_by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (server_id, list, rule.kind, rule.pattern, self._clock(), actor),
            )
            await self.audit.record(
                actor or "operator",
                "policy.rule_added",
                target=f"{list}:{rule.kind}",
                detail=excerpt(rule.pattern),
                server_id=server_id,
                tx=tx,
            )
        self._cache.pop(server_id, None)
        row = await self.db.fetchone(
            "SELECT id FROM policy_rules WHERE server_id = ? AND list = ? AND kind = ? AND pattern = ?",
            (server_id, list, rule.kind, rule.pattern),
        )
        assert row is not None
        return ServerRule(int(row["id"]), server_id, list, rule)

    async def remove_rule(self, server_id: str, rule_id: int, *, actor: str = "") -> bool:
        """Remove rule ``rule_id`` of ``server_id``; False when there was none."""
        async with self.db.transaction() as tx:
            removed = (
                await tx.execute(
                    "DELETE FROM policy_rules WHERE server_id = ? AND id = ?", (server_id, rule_id)
                )
                > 0
            )
            if removed:
                await self.audit.record(
                    actor or "operator",
                    "policy.rule_removed",
                    target=str(rule_id),
                    server_id=server_id,
                    tx=tx,
                )
        self._cache.pop(server_id, None)
        return removed

    async def list_rules(self, server_id: str) -> list[ServerRule]:
        rows = await self.db.fetchall(
            "SELECT id, server_id, list, kind, pattern FROM policy_rules WHERE server_id = ? ORDER BY id",
            (server_id,),
        )
        return [
            ServerRule(int(r["id"]), r["server_id"], r["list"], Rule(r["kind"], r["pattern"])) for r in rows
        ]

    async def check(self, requester: Requester, request: GenerationRequest) -> None:
        """Refuse (and audit) a request whose prompts the rules forbid where it was asked."""
        texts = [p.text for p in request.prompts]
        if not texts:
            return
        blocked, adult = await self._rules(requester.venue.server_id)
        for text in texts:
            hit = blocked.first_match(text)
            if hit is not None:
                await self.audit.record(requester, "policy.blocked", target=hit.pattern, detail=excerpt(text))
                raise PromptBlocked(log_detail=f"block rule {hit.kind}:{hit.pattern!r}")
        where = self._adult_refusal(requester)
        if where is None:
            return
        for text in texts:
            hit = adult.first_match(text)
            if hit is not None:
                await self.audit.record(
                    requester, "policy.adult_refused", target=hit.pattern, detail=excerpt(text)
                )
                raise AdultOnlyHere(
                    where, log_detail=f"adult rule {hit.kind}:{hit.pattern!r} outside an adult channel"
                )

    async def content_filtered(self, requester: Requester, job_id: str, filtered: int) -> None:
        """The backend's safety filter withheld images: moderators see it in the audit log."""
        await self.audit.record(
            requester, "backend.content_filtered", target=job_id, detail=f"{filtered} withheld"
        )

    def _adult_refusal(self, requester: Requester) -> str | None:
        """None when adult-only requests may run here, else the sentence saying where they may."""
        venue = requester.venue
        if requester.platform == "discord":
            return None if venue.nsfw else "Please ask in a channel marked age-restricted (NSFW)."
        if requester.platform == "slack":
            if venue.channel_id in self.config.slack_adult_channels:
                return None
            if self.config.slack_adult_channels:
                return "Please ask in one of the channels the operator has opened for it."
            return "This workspace has no channel open for it."
        if requester.platform == "cli":
            return None  # the operator at their own terminal
        return "Please ask in a channel marked for adult content."

    async def _rules(self, server_id: str) -> tuple[RuleSet, RuleSet]:
        cached = self._cache.get(server_id)
        if cached is not None:
            return cached
        mine = await self.list_rules(server_id) if server_id else []
        blocked = self.config.blocked + RuleSet.compile(r.rule for r in mine if r.list == "block")
        adult = self.config.adult + RuleSet.compile(r.rule for r in mine if r.list == "adult")
        self._cache[server_id] = (blocked, adult)
        return blocked, adult
