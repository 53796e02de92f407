"""``/easel admin`` on Slack (issue 10): every subcommand guarded, moderator delete, pause notices,
and user groups as roles for budget overrides."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from commands.admin import ADMIN_SUBCOMMANDS
from commands.replies import PAUSED_LINE
from tests.fakes.backend import FakeBackend
from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage, slack_easel_for
from tests.helpers.slack_messages import result_cards_posted, wait_for_results
from tests.helpers.waiting import rows_until

CHANNEL = "C0CHANNEL1"
MEMBER = "U0USER0001"
ADMIN = "U0ADMIN"

WORDS = {
    "limits": "limits",
    "set": "set server_day 5",
    "grant": "grant slack:U9 3",
    "ban": "ban slack:U9 spam",
    "unban": "unban slack:U9",
    "audit": "audit",
    "pause": "pause",
    "resume": "resume",
    "queue": "queue",
    "cancel": "cancel abc123",
    "delete": "delete abc123",
}


def _texts(slack: FakeSlack, method: str, needle: str) -> list[str]:
    return [c.params["text"] for c in slack.calls_to(method) if needle in c.params.get("text", "")]


async def imagine(easel: SlackEasel, text: str = "a lighthouse --seed 5") -> tuple[StoredMessage, str]:
    """The result card (it carries the buttons; the images are uploaded just before it) and its job."""
    before = result_cards_posted(easel.slack)
    await easel.user.slash_command("/imagine", text)
    result = (await wait_for_results(easel.slack, before + 1))[-1]
    return result.card, result.job_id


async def test_every_subcommand_is_refused_to_members_and_logged(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    assert set(WORDS) == {s.name for s in ADMIN_SUBCOMMANDS}
    async with slack_easel_for(slack_settings(), slack_server) as easel:
        for text in WORDS.values():
            await easel.user.slash_command("/easel", f"admin {text}")
        await slack_server.wait_for(
            "response_url", len(WORDS), where=lambda c: "Only workspace admins" in c.params.get("text", "")
        )
        rows = await rows_until(
            easel.services.db, "SELECT detail FROM audit_log WHERE action = 'admin_refused'", len(WORDS)
        )
        assert sorted(r["detail"] for r in rows) == sorted(WORDS.values())
        assert (
            await easel.services.db.fetchall("SELECT * FROM audit_log WHERE action != 'admin_refused'") == []
        )


async def test_admins_delete_anyones_result_with_the_button_or_the_command(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    async with slack_easel_for(slack_settings(), slack_server) as easel:
        message, job_id = await imagine(easel)
        await easel.user.block_action(f"easel:d:{job_id}", message=message, user_id="U0USER0002")
        await slack_server.wait_for(
            "response_url", where=lambda c: "Only the person" in c.params.get("text", "")
        )
        assert "workspace admins and the easel admin group" in _texts(slack_server, "response_url", "Only")[0]
        assert not slack_server.messages[(CHANNEL, message.ts)].deleted

        await easel.user.block_action(f"easel:d:{job_id}", message=message, user_id=ADMIN)
        await slack_server.wait_for("chat.delete")
        assert slack_server.messages[(CHANNEL, message.ts)].deleted
        assert (await easel.services.jobs.get_job(job_id)).deleted

        _, other_id = await imagine(easel, "a harbour --seed 6")
        await easel.user.slash_command("/easel", f"admin delete {other_id[:10]}", user_id=ADMIN)
        [reply] = await slack_server.wait_for(
            "response_url", where=lambda c: c.params.get("text", "").startswith("Deleted")
        )
        assert f"Deleted {other_id[:12]} by slack:{MEMBER}" in reply.params["text"]
        assert (await easel.services.jobs.get_job(other_id)).deleted
        rows = await rows_until(
            easel.services.db, "SELECT actor_key, target, detail FROM audit_log WHERE action = 'delete'", 2
        )
        assert [tuple(r) for r in rows] == [
            (f"slack:{ADMIN}", job_id, f"slack:{MEMBER}"),
            (f"slack:{ADMIN}", other_id, f"slack:{MEMBER}"),
        ]


async def test_waiting_requesters_hear_of_the_pause_and_the_resume_privately(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    backend = FakeBackend()
    async with slack_easel_for(slack_settings(max_concurrency=1), slack_server, backend=backend) as easel:
        await easel.user.slash_command("/easel", "admin pause", user_id=ADMIN)
        await slack_server.wait_for("response_url", where=lambda c: "paused" in c.params.get("text", ""))
        await easel.user.slash_command("/imagine", "a kite")
        await easel.user.slash_command("/imagine", "a boat", user_id="U0USER0002")
        told = await slack_server.wait_for(
            "chat.postEphemeral", 2, where=lambda c: PAUSED_LINE in c.params.get("text", "")
        )
        assert sorted(c.params["user"] for c in told) == [MEMBER, "U0USER0002"]
        assert backend.calls == []

        backend.gate = asyncio.Event()  # the first job holds the only worker; the second waits
        await easel.user.slash_command("/easel", "admin resume", user_id=ADMIN)
        [resumed] = await slack_server.wait_for(
            "chat.postEphemeral", where=lambda c: "Generation resumed" in c.params.get("text", "")
        )
        assert resumed.params["user"] == "U0USER0002"
        assert "you're next" in resumed.params["text"]
        backend.gate.set()
        await slack_server.wait_for("files.completeUploadExternal", 2)
        assert len(_texts(slack_server, "chat.postEphemeral", PAUSED_LINE)) == 2  # once each


async def test_user_group_overrides_apply_to_members_and_are_cached(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    slack_server.usergroups["S0VIP"] = [MEMBER]
    async with slack_easel_for(slack_settings(), slack_server) as easel:
        # the group as Slack writes a mention of it in a command's text
        await easel.user.slash_command("/easel", "admin set <!subteam^S0VIP|@vips> 40", user_id=ADMIN)
        [set_reply] = await slack_server.wait_for(
            "response_url", where=lambda c: "is now 40" in c.params.get("text", "")
        )
        assert set_reply.params["text"] == "role:S0VIP is now 40 here."
        await easel.user.slash_command("/quota")
        await easel.user.slash_command("/quota", user_id="U0USER0002")
        mine, theirs = await slack_server.wait_for(
            "response_url", 2, where=lambda c: c.params.get("text", "").startswith("You have")
        )
        assert "You have *40* of your 40 daily units" in mine.params["text"]
        assert "You have *25* of your 25 daily units" in theirs.params["text"]
        await imagine(easel)
        assert len(slack_server.calls_to("usergroups.users.list")) == 1  # cached for both people and the job


async def test_without_the_usergroups_scope_groups_grant_nothing(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    slack_server.usergroups["S0VIP"] = [MEMBER]
    slack_server.usergroups_scope = False
    async with slack_easel_for(slack_settings(), slack_server) as easel:
        await easel.user.slash_command("/easel", "admin set role:S0VIP 40", user_id=ADMIN)
        await slack_server.wait_for("response_url", where=lambda c: "is now 40" in c.params.get("text", ""))
        await easel.user.slash_command("/quota")
        [quota] = await slack_server.wait_for(
            "response_url", where=lambda c: c.params.get("text", "").startswith("You have")
        )
        assert "You have *25* of your 25 daily units" in quota.params["text"]
