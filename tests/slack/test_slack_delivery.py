"""What the requester hears when a job fails, and jobs that outlive a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from services.types import Requester
from tests.fakes.slack import FakeSlack, SlackEasel, slack_easel_for

CHANNEL = "C0CHANNEL1"
USER = "U0USER0001"


async def used(easel: SlackEasel) -> int:
    return (await easel.services.jobs.quota_status(Requester("slack", USER))).used


async def test_backend_refusal_is_private_and_free(slack_easel: SlackEasel, stability_server: Any) -> None:
    stability_server.inject(
        status=400, message="invalid_prompts: One or more prompts contains filtered words."
    )
    await slack_easel.user.slash_command("/imagine", "something forbidden")
    failure = await slack_easel.slack.wait_for(
        "response_url", where=lambda c: c.params.get("text", "").startswith(":warning:")
    )
    assert failure[0].params["response_type"] == "ephemeral"
    assert slack_easel.slack.calls_to("files.getUploadURLExternal") == []
    assert slack_easel.slack.calls_to("chat.postMessage") == []
    assert await used(slack_easel) == 0


async def test_not_in_channel_explains_how_to_invite_and_refunds(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    slack.fail_next("files.completeUploadExternal", "not_in_channel")
    await slack_easel.user.slash_command("/imagine", "a quiet harbour")
    told = await slack.wait_for("response_url", where=lambda c: "/invite" in c.params.get("text", ""))
    assert "quota was not spent" in told[0].params["text"]
    await asyncio.sleep(0.2)
    warnings = [c for c in slack.calls_to("response_url") if c.params.get("text", "").startswith(":warning:")]
    assert len(warnings) == 1  # no second, generic failure message
    assert await used(slack_easel) == 0


async def test_job_interrupted_by_a_restart_resumes_and_posts_in_its_channel(
    slack_server: FakeSlack, slack_settings: Callable[..., Any], stability_server: Any
) -> None:
    settings = slack_settings()
    stability_server.inject(delay_s=30)  # the first generation hangs until easel stops
    async with slack_easel_for(settings, slack_server) as first:
        await first.user.slash_command("/imagine", "a slow sunrise", channel_id="C0OTHERCH1")
        await slack_server.wait_for("response_url")
        async with asyncio.timeout(5):  # the fake Stability server has no event to wait on
            while not stability_server.requests_for("text-to-image"):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        await first.services.jobs.stop(grace_s=0.1)
    assert slack_server.calls_to("files.completeUploadExternal") == []

    async with slack_easel_for(settings, slack_server) as second:
        [done] = await slack_server.wait_for("files.completeUploadExternal")
        assert done.params["channel_id"] == "C0OTHERCH1"
        texts = [c.params.get("text", "") for c in slack_server.calls_to("response_url")]
        assert any("restarted" in t for t in texts)
        assert (await second.services.jobs.quota_status(Requester("slack", USER))).used == 1
