"""Community budgets through the real slack-bolt app (issue 10): refusals private, nothing spent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack import FakeSlack, slack_easel_for


async def test_a_workspace_cooldown_is_refused_privately(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    async with slack_easel_for(slack_settings(cooldown_s=3600), slack_server) as easel:
        await easel.user.slash_command("/imagine", "a kite")
        await slack_server.wait_for("files.completeUploadExternal")
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
