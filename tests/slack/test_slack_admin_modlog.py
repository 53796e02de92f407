"""The moderation log channel on Slack (issue 10): one line per refusal and admin action, never a job's failure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack import FakeSlack, slack_easel_for
from tests.helpers.slack_messages import wait_for_results
from tests.helpers.waiting import until

MODLOG = "C0MODLOG01"
ADMIN = "U0ADMIN"


def _lines(slack: FakeSlack) -> list[str]:
    return [c.params["text"] for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == MODLOG]


async def test_refusals_and_admin_actions_are_posted_escaped_and_cut(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    settings = slack_settings(blocked_words=["gore"], slack_modlog_channel=MODLOG)
    async with slack_easel_for(settings, slack_server) as easel:
        await easel.user.slash_command("/imagine", "<!channel> a gore scene " + "and more words " * 20)
        await slack_server.wait_for("response_url", where=lambda c: "not allowed" in c.params.get("text", ""))
        await easel.user.slash_command("/easel", "admin ban slack:U0USER0001 <!here> spam", user_id=ADMIN)
        await slack_server.wait_for("response_url", where=lambda c: "is banned" in c.params.get("text", ""))
        await slack_server.wait_for(
            "chat.postMessage", 2, where=lambda c: c.params.get("channel") == MODLOG, timeout_s=10
        )
        blocked, banned = _lines(slack_server)
        assert f"server {slack_server.team_id}" in blocked
        assert (
            "slack:U0USER0001 was refused by the prompt block list (rule gore) — &lt;!channel&gt; a gore"
            in blocked
        )
        assert len(blocked.split(" — ", 1)[1]) <= 60 + len("&lt;&gt;") * 1
        assert banned.endswith(f"slack:{ADMIN} banned slack:U0USER0001 — &lt;!here&gt; spam")
        assert all(slack_server.bot_token not in line for line in _lines(slack_server))


async def test_a_failing_modlog_post_is_skipped_and_jobs_go_on(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.admins.add(ADMIN)
    slack_server.fail_next("chat.postMessage", "not_in_channel")
    async with slack_easel_for(slack_settings(slack_modlog_channel=MODLOG), slack_server) as easel:
        await easel.user.slash_command("/easel", "admin set cooldown 0", user_id=ADMIN)
        await slack_server.wait_for("response_url", where=lambda c: "is now 0" in c.params.get("text", ""))
        await until(lambda: bool(slack_server.calls_to("chat.postMessage")), within_s=10)  # refused
        await easel.user.slash_command("/imagine", "a kite --seed 3")
        await wait_for_results(slack_server)  # the job went on: its images and its card were posted
        await easel.user.slash_command("/easel", "admin pause", user_id=ADMIN)
        await slack_server.wait_for("chat.postMessage", where=lambda c: c.params.get("channel") == MODLOG)
        posts = [c for c in slack_server.calls_to("chat.postMessage") if c.params.get("channel") == MODLOG]
        statuses = [c.response.get("ok") for c in posts]
        assert statuses == [False, True]  # the first line was lost, the feed went on
        assert _lines(slack_server)[1].endswith(f"slack:{ADMIN} paused generation")
