"""The private status line: rate-limited, within Slack's 5 uses per response URL, never lost at the end."""

from __future__ import annotations

import asyncio

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.status import StatusTarget, StatusUpdater
from tests.fakes.slack import BOT_TOKEN, FakeSlack


def posts(slack: FakeSlack) -> list[tuple[str, bool]]:
    return [(c.params["text"], c.params["replace_original"]) for c in slack.calls_to("response_url") if c.ok]


async def test_updates_are_throttled_and_the_latest_wins(slack_server: FakeSlack) -> None:
    target = StatusTarget(
        channel="C1", user="U1", response_url=slack_server.new_response_url(), mode="replace"
    )
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_server.api_url, session=session)
        status = StatusUpdater(target, session=session, client=client, min_interval_s=0.3)
        await status.update("queued")
        await status.update("started")
        await status.update("40%")
        assert posts(slack_server) == [("queued", False)]
        await slack_server.wait_for("response_url", 2)
        assert posts(slack_server) == [("queued", False), ("40%", True)]
        await status.update("80%")  # too soon: deferred …
        await status.final("done")  # … and dropped, because the job is finished
        await asyncio.sleep(0.4)
        assert posts(slack_server) == [("queued", False), ("40%", True), ("done", True)]


async def test_the_final_message_survives_a_used_up_response_url(slack_server: FakeSlack) -> None:
    url = slack_server.new_response_url()
    target = StatusTarget(channel="C1", user="U1", response_url=url, mode="replace")
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_server.api_url, session=session)
        status = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        for n in range(10):
            await status.update(f"step {n}")
        assert len(posts(slack_server)) == 4  # the fifth use is kept for the final message
        await status.final("done")
        assert posts(slack_server)[-1] == ("done", True)

        # Another job whose URL someone else used up (or that expired): the final goes by chat.postEphemeral.
        for _ in range(5):
            async with session.post(url, json={"text": "x"}):
                pass
        late = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        await late.final(":warning: failed")
        [ephemeral] = await slack_server.wait_for("chat.postEphemeral")
        assert ephemeral.params["user"] == "U1" and ephemeral.params["text"] == ":warning: failed"


async def test_append_mode_posts_new_messages_only_when_they_matter(slack_server: FakeSlack) -> None:
    target = StatusTarget(
        channel="C1", user="U1", response_url=slack_server.new_response_url(), mode="append"
    )
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_server.api_url, session=session)
        status = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        await status.update("queued")
        await status.update("started")
        await status.final("done", important=False)
        assert posts(slack_server) == [("queued", False)]
        failing = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        await failing.final(":warning: no")
        assert posts(slack_server)[-1] == (":warning: no", False)


async def test_a_status_line_built_again_edits_what_the_first_one_posted(slack_server: FakeSlack) -> None:
    """A job's sink is built again when it starts after waiting, after a restart or on another
    worker: its status line goes on replacing the message the person already has, and counts the
    URL use that message cost."""
    target = StatusTarget(
        channel="C1", user="U1", response_url=slack_server.new_response_url(), mode="replace"
    )
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(token=BOT_TOKEN, base_url=slack_server.api_url, session=session)
        first = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        await first.update("queued")
        again = StatusUpdater(target, session=session, client=client, min_interval_s=0)
        again.continue_told()
        for n in range(10):
            await again.update(f"step {n}")
        await again.final("done")
        assert posts(slack_server)[0] == ("queued", False)
        assert all(replace for _, replace in posts(slack_server)[1:])  # edits, never a second message
        assert len(posts(slack_server)) == 5  # within Slack's 5 uses, the final one included
        assert posts(slack_server)[-1] == ("done", True)

        appended = StatusTarget(
            channel="C1", user="U1", response_url=slack_server.new_response_url(), mode="append"
        )
        button = StatusUpdater(appended, session=session, client=client, min_interval_s=0)
        button.continue_told()
        await button.update("started")  # the person has their "queued" message already
        assert posts(slack_server)[-1] == ("done", True)
