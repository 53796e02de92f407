"""Slack's HTTP endpoint: signatures, timestamps, retries, the ack deadline, operator errors."""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from tests.fakes.slack import BOT_TOKEN, FakeSlack, SlackEasel, slack_easel_for
from tests.helpers.slack_messages import wait_for_results

ACK_DEADLINE_S = 3.0


def _form(**fields: str) -> str:
    base = {
        "team_id": "T0EASEL01",
        "channel_id": "C0CHANNEL1",
        "user_id": "U0USER0001",
        "user_name": "ada",
        "command": "/imagine",
        "text": "a fox",
        "trigger_id": "1.2.forged",
        "response_url": "http://127.0.0.1:9/never",
    }
    base.update(fields)
    return urllib.parse.urlencode(base)


async def test_forged_signature_is_refused_and_nothing_runs(slack_easel: SlackEasel) -> None:
    status, _, _ = await slack_easel.user.send(_form(), signature="v0=" + "0" * 64)
    assert status == 401
    other = slack_easel.user_side(signing_secret="not-the-real-secret")
    sent = await other.slash_command("/imagine", "a fox")
    assert sent.status == 401
    await asyncio.sleep(0.2)
    assert slack_easel.slack.calls_to("response_url") == []
    assert slack_easel.services.jobs.stats().submitted == 0


async def test_stale_timestamp_is_refused(slack_easel: SlackEasel) -> None:
    stale = int(time.time()) - 10 * 60  # correctly signed, but replayed ten minutes later
    sent = await slack_easel.user.slash_command("/imagine", "a fox", timestamp=stale)
    assert sent.status == 401
    future = int(time.time()) + 10 * 60
    assert (await slack_easel.user.slash_command("/imagine", "a fox", timestamp=future)).status == 401
    await asyncio.sleep(0.2)
    assert slack_easel.services.jobs.stats().submitted == 0


async def test_slack_retries_never_create_a_second_job(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    first = await slack_easel.user.slash_command("/imagine", "a lighthouse --seed 3")
    assert first.status == 200
    for retry in (1, 2):
        again = await slack_easel.user.slash_command(
            "/imagine",
            "a lighthouse --seed 3",
            trigger_id=first.trigger_id,
            response_url=first.response_url,
            retry_num=retry,
        )
        assert again.status == 200
    await slack.wait_for("files.completeUploadExternal")
    await asyncio.sleep(0.3)
    assert slack_easel.services.jobs.stats().submitted == 1
    assert len(slack.calls_to("files.completeUploadExternal")) == 1
    assert slack_easel.frontend.dedup.dropped == 2


async def test_twenty_users_at_once_are_all_acked_within_the_deadline(slack_easel: SlackEasel) -> None:
    users = [f"U0CROWD{n:03d}" for n in range(20)]
    sent = await asyncio.gather(
        *(
            slack_easel.user.slash_command("/imagine", f"a paper boat number {n}", user_id=u)
            for n, u in enumerate(users)
        )
    )
    assert all(s.status == 200 for s in sent)
    slowest = max(s.elapsed_s for s in sent)
    assert slowest < ACK_DEADLINE_S, f"slowest ack took {slowest:.2f}s"
    results = await wait_for_results(slack_easel.slack, 20, timeout_s=60)
    posted_for = {r.summary.split("<@", 1)[1][:10] for r in results}
    assert posted_for == set(users)


async def test_rate_limited_web_api_calls_are_retried(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    slack.fail_next("files.completeUploadExternal", "ratelimited", retry_after=0)
    slack.fail_next("files.getUploadURLExternal", "ratelimited", retry_after=0)
    await slack_easel.user.slash_command("/imagine", "a windmill")
    await slack.wait_for("files.completeUploadExternal", timeout_s=15)
    attempts = slack.calls_to("files.completeUploadExternal")
    assert [c.status for c in attempts] == [429, 200]
    assert [c.status for c in slack.calls_to("files.getUploadURLExternal")] == [429, 200]
    assert len(slack.uploaded_files("C0CHANNEL1")) == 1


async def test_invalid_bot_token_fails_at_start_without_leaking_it(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.fail_next("auth.test", "invalid_auth")
    with pytest.raises(SlackApiError) as caught:
        async with slack_easel_for(slack_settings(), slack_server):
            pass
    assert "invalid_auth" in str(caught.value)
    assert BOT_TOKEN not in str(caught.value)


async def test_wrong_method_and_path_are_not_served(slack_easel: SlackEasel) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as session:
        async with session.get(slack_easel.endpoint) as resp:
            assert resp.status == 405
        base = slack_easel.endpoint.rsplit("/slack/events", 1)[0]
        async with session.post(base + "/other") as resp:
            assert resp.status == 404
