"""Adult-only requests on Slack (no NSFW flag there): refused unless the operator opened the channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack import FakeSlack, slack_easel_for
from tests.helpers.chat import SlackChat, assert_refused_privately_for_free
from tests.helpers.slack_messages import wait_for_results


async def test_adult_only_prompts_run_only_in_listed_slack_channels(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    settings = slack_settings(adult_words=["nude"], slack_adult_channels=["C0ADULT"])
    async with slack_easel_for(settings, slack_server) as easel:
        chat = SlackChat(easel)
        sent = await chat.run("imagine", "a nude marble statue")
        await assert_refused_privately_for_free(
            chat, sent, "adult-only", "channels the operator has opened", "Nothing was spent"
        )
        allowed = await easel.user.slash_command("/imagine", "a nude marble statue", channel_id="C0ADULT")
        assert allowed.status == 200
        await wait_for_results(slack_server)
        [entry] = await easel.services.policy.audit.recent()
        assert entry.action == "policy.adult_refused" and entry.actor_key.startswith("slack:")
