"""Prompt policy and adult-only gating, through the real job service: refused before anything is spent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.audit import AuditLog
from services.policy import AdultOnlyHere, PolicyBook, PolicyConfig, PromptBlocked, Rule, RuleError, RuleSet
from services.types import Requester, Venue, WeightedPrompt
from tests.fakes.backend import FakeBackend
from tests.helpers.jobs import ORIGIN, Services, build_services
from tests.helpers.requests import imagine

G1 = Venue(server_id="G1", channel_id="C1")
G2 = Venue(server_id="G2", channel_id="C9")


def person(user: str, venue: Venue, platform: str = "test") -> Requester:
    return Requester(platform, user, venue=venue)


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[tuple[Services, PolicyBook]]:
    config = PolicyConfig.build(
        blocked=["gore", Rule("regex", r"celeb(rity|s)?\b")],
        adult=["nude"],
        slack_adult_channels=["CADULT"],
    )
    svc = await build_services(
        tmp_path / "data", FakeBackend(), gate=lambda db: PolicyBook(db, AuditLog(db), config)
    )
    book = svc.jobs.gate
    assert isinstance(book, PolicyBook)
    await svc.jobs.start()
    yield svc, book
    await svc.jobs.stop(grace_s=0)
    await svc.db.close()


async def test_global_words_are_whole_word_any_case_and_unicode_aware(
    stack: tuple[Services, PolicyBook],
) -> None:
    svc, _ = stack
    alice = person("alice", G1)
    for prompt in (
        "GORE in the street",
        "a scene with gore.",
        "c a t gore",
        "g.o.r.e everywhere",
        "ＧＯＲＥ",
    ):
        with pytest.raises(PromptBlocked):
            await svc.jobs.submit(alice, imagine(prompt), origin=ORIGIN)
    for prompt in ("Gorey the cat", "a gorgeous sunset", "gores"):
        await svc.jobs.submit(alice, imagine(prompt), origin=ORIGIN)
    status = await svc.quota.status(alice)
    assert status.used == 3  # only the three allowed requests were reserved


async def test_negative_prompts_and_regexes_are_checked_and_audited(
    stack: tuple[Services, PolicyBook],
) -> None:
    svc, book = stack
    bob = person("bob", G1)
    request = imagine(prompts=(WeightedPrompt("a portrait"), WeightedPrompt("celebrity faces", -1.0)))
    with pytest.raises(PromptBlocked) as refused:
        await svc.jobs.submit(bob, request, origin=ORIGIN)
    assert "Nothing was spent" in refused.value.user_message and "celeb" not in refused.value.user_message
    assert (await svc.quota.status(bob)).used == 0
    [entry] = await book.audit.recent()
    assert (entry.action, entry.actor_key, entry.server_id) == ("policy.blocked", "test:bob", "G1")
    assert entry.detail == "celebrity faces"


async def test_server_rules_apply_only_to_their_server(stack: tuple[Services, PolicyBook]) -> None:
    svc, book = stack
    rule = await book.add_rule("G1", Rule("word", "Clown"), actor="discord:mod")
    with pytest.raises(PromptBlocked):
        await svc.jobs.submit(person("a", G1), imagine("a sad clown"), origin=ORIGIN)
    await svc.jobs.submit(person("b", G2), imagine("a sad clown"), origin=ORIGIN)
    assert [r.rule.pattern for r in await book.list_rules("G1")] == ["Clown"]
    assert await book.list_rules("G2") == []
    assert await book.remove_rule("G1", rule.id, actor="discord:mod")
    assert not await book.remove_rule("G1", rule.id)
    await svc.jobs.submit(person("a", G1), imagine("a sad clown"), origin=ORIGIN)
    actions = [e.action for e in await book.audit.recent(server_id="G1")]
    assert actions == ["policy.rule_removed", "policy.blocked", "policy.rule_added"]


async def test_adult_only_requests_run_only_where_the_platform_allows(
    stack: tuple[Services, PolicyBook],
) -> None:
    svc, book = stack
    request = imagine("a nude statue")
    with pytest.raises(AdultOnlyHere) as refused:
        await svc.jobs.submit(person("d", G1, "discord"), request, origin=ORIGIN)
    assert "age-restricted (NSFW)" in refused.value.user_message
    nsfw = Venue(server_id="G1", channel_id="C2", nsfw=True)
    with pytest.raises(AdultOnlyHere) as on_slack:
        await svc.jobs.submit(person("s", G1, "slack"), request, origin=ORIGIN)
    assert "channels the operator has opened" in on_slack.value.user_message
    svc.jobs.register_platform("discord", lambda record: svc.sink)
    svc.jobs.register_platform("slack", lambda record: svc.sink)
    await svc.jobs.submit(person("d", nsfw, "discord"), request, origin={"platform": "discord"})
    await svc.jobs.submit(
        person("s", Venue(server_id="T1", channel_id="CADULT"), "slack"),
        request,
        origin={"platform": "slack"},
    )
    assert [e.action for e in await book.audit.recent()][-2:] == [
        "policy.adult_refused",
        "policy.adult_refused",
    ]


async def test_content_filter_refusals_are_audited(stack: tuple[Services, PolicyBook]) -> None:
    svc, book = stack
    svc.backend.filtered = {0}
    submitted = await svc.jobs.submit(person("f", G1), imagine(samples=2), origin=ORIGIN)
    await asyncio.wait_for(svc.jobs.wait(submitted.job_id), 5)
    entries = await book.audit.recent()
    assert [(e.action, e.target, e.detail) for e in entries] == [
        ("backend.content_filtered", submitted.job_id, "1 withheld")
    ]


def test_catastrophic_and_broken_patterns_are_refused_at_start() -> None:
    for pattern in (r"(a+)+$", r"(\w+\s?)*x", r"(x|xx)*y", r".*.*=", r"(a)\1", "[unclosed"):
        with pytest.raises(RuleError):
            RuleSet.compile([Rule("regex", pattern)])
    with pytest.raises(RuleError):
        RuleSet.compile([Rule("word", "  ")])


def test_matching_a_huge_prompt_is_bounded() -> None:
    rules = RuleSet.compile([Rule("regex", r"a[b-z]+q"), Rule("word", "gore")])
    assert rules.first_match("a" + "b" * 1_000_000 + "q") is None  # beyond the scan cap
    assert rules.first_match("x " * 100 + "GoRe") == Rule("word", "gore")
