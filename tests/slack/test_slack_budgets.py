"""Community budgets through the real slack-bolt app (issue 10): refusals private, nothing spent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack import FakeSlack, slack_easel_for
from tests.helpers.slack_messages import wait_for_results


async def test_a_workspace_cooldown_is_refused_privately(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    async with slack_easel_for(slack_settings(cooldown_s=3600), slack_server) as easel:
        await easel.user.slash_command("/imagine", "a kite")
        await wait_for_results(slack_server)
        await easel.user.slash_command("/imagine", "another kite")
        [refusal] = await slack_server.wait_for(
            "response_url", where=lambda c: "cool-down" in c.params.get("text", "")
        )
        text = refusal.params["text"]
        assert (
            "Please wait between requests (the cool-down here is 3600 s). You can ask again <!date^" in text
        )
        assert text.endswith("Nothing was spent.") and refusal.params.get("response_type") != "in_channel"
        assert len(slack_server.calls_to("files.completeUploadExternal")) == 1
        await easel.user.slash_command("/quota")
        [quota] = await slack_server.wait_for(
            "response_url", where=lambda c: c.params.get("text", "").startswith("You have")
        )
        assert "Cool-down between requests: 3600 s." in quota.params["text"]


ADMIN_WORDS = (
    "limits", "set server_day 5", "grant slack:U9 3", "ban slack:U9", "unban slack:U9", "audit",
    "pause", "resume", "queue", "cancel abc",
)  # fmt: skip


def _replies(slack: FakeSlack, needle: str) -> list[str]:
    return [c.params["text"] for c in slack.calls_to("response_url") if needle in c.params.get("text", "")]


async def test_admin_commands_are_for_workspace_admins_and_the_admin_group_only(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.usergroups["S0MODS"] = ["U0MOD"]
    slack_server.admins.add("U0ADMIN")
    async with slack_easel_for(slack_settings(slack_admin_group="S0MODS"), slack_server) as easel:
        for text in ADMIN_WORDS:  # every subcommand, from a member who is neither
            await easel.user.slash_command("/easel", f"admin {text}")
        await slack_server.wait_for(
            "response_url",
            len(ADMIN_WORDS),
            where=lambda c: "Only workspace admins" in c.params.get("text", ""),
        )
        db = easel.services.db
        refused = await db.fetchall("SELECT actor_key, detail FROM audit_log WHERE action = 'admin_refused'")
        assert sorted(r["detail"] for r in refused) == sorted(ADMIN_WORDS)
        assert {r["actor_key"] for r in refused} == {"slack:U0USER0001"}
        assert await db.fetchall("SELECT * FROM budget_overrides") == []
        assert await db.fetchall("SELECT * FROM bans") == []
        assert not easel.services.jobs.paused

        await easel.user.slash_command("/easel", "admin set server_day 5", user_id="U0ADMIN")
        await slack_server.wait_for(
            "response_url", where=lambda c: "server_day is now 5" in c.params.get("text", "")
        )
        await easel.user.slash_command("/easel", "admin ban slack:U9 spam", user_id="U0MOD")
        await slack_server.wait_for("response_url", where=lambda c: "is banned" in c.params.get("text", ""))
        await easel.user.slash_command("/easel", "admin pause", user_id="U0MOD")
        await slack_server.wait_for(
            "response_url", where=lambda c: "Generation is paused" in c.params.get("text", "")
        )
        assert easel.services.jobs.paused
        await easel.user.slash_command("/easel", "admin resume", user_id="U0ADMIN")
        await slack_server.wait_for(
            "response_url", where=lambda c: "Generation resumed" in c.params.get("text", "")
        )
        rows = await db.fetchall(
            "SELECT actor_key, action FROM audit_log WHERE action != 'admin_refused' ORDER BY id"
        )
        assert [(r["actor_key"], r["action"]) for r in rows] == [
            ("slack:U0ADMIN", "set_limit"), ("slack:U0MOD", "ban"), ("slack:U0MOD", "pause"), ("slack:U0ADMIN", "resume"),
        ]  # fmt: skip
        assert _replies(slack_server, "is banned") == ["slack:U9 is banned from the bot."]
