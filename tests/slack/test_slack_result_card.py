"""Results by Slack's documented rules (issue 11, item 9): the images through the external upload,
with no buttons there, then the card with the buttons as a ``chat.postMessage`` in the same place."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ImageBlock, RichTextBlock
from slack_sdk.models.blocks.basic_components import SlackFile
from slack_sdk.web.async_client import AsyncWebClient

from services.types import Requester
from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage, slack_easel_for
from tests.helpers.images import png
from tests.helpers.slack_messages import wait_for_results

CHANNEL = "C0CHANNEL1"
USER = "U0USER0001"
BUTTONS = [ActionsBlock(elements=[ButtonElement(text="Reroll", action_id="reroll")]).to_dict()]


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)


async def test_the_fake_takes_only_rich_text_blocks_on_an_upload(slack_server: FakeSlack) -> None:
    web = client(slack_server)
    upload = {"file": png((64, 64)), "filename": "a.png", "title": "a"}
    with pytest.raises(SlackApiError) as refused:
        await web.files_upload_v2(file_uploads=[upload], channel=CHANNEL, blocks=json.dumps(BUTTONS))
    assert refused.value.response["error"] == "invalid_blocks"
    assert slack_server.uploaded_files(CHANNEL) == []

    rich = RichTextBlock(
        elements=[{"type": "rich_text_section", "elements": [{"type": "text", "text": "hi"}]}]
    )
    done = await web.files_upload_v2(
        file_uploads=[upload], channel=CHANNEL, blocks=json.dumps([rich.to_dict()])
    )
    [shared] = slack_server.channel_messages(CHANNEL)
    assert shared.files == [done["files"][0]["id"]] and shared.blocks == [rich.to_dict()]

    # The same buttons are fine in a message, and an image block may show the shared file.
    shown = ImageBlock(alt_text="a", slack_file=SlackFile(id=done["files"][0]["id"])).to_dict()
    await web.chat_postMessage(channel=CHANNEL, text="card", blocks=[*BUTTONS, shown])
    private = await web.files_upload_v2(file_uploads=[upload])  # no channel: private to the app
    hidden = ImageBlock(alt_text="a", slack_file=SlackFile(id=private["files"][0]["id"])).to_dict()
    with pytest.raises(SlackApiError) as invalid:
        await web.chat_postMessage(channel=CHANNEL, text="card", blocks=[hidden])
    assert invalid.value.response["error"] == "invalid_blocks"
    with pytest.raises(SlackApiError) as unknown:  # read back through slack_sdk's Block Kit models
        await web.chat_postMessage(channel=CHANNEL, text="x", blocks=[{**BUTTONS[0], "colour": "red"}])
    assert unknown.value.response["error"] == "invalid_blocks"


async def test_a_result_is_the_images_then_a_card_with_the_buttons(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/imagine", "a lighthouse at dusk --n 2 --seed 9")
    [result] = await wait_for_results(slack)
    uploads = slack.calls_to("files.completeUploadExternal")
    assert [c.ok for c in uploads] == [True]
    assert "blocks" not in uploads[0].params  # nothing the method does not document
    [card_call] = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert card_call.params["channel"] == CHANNEL and card_call.params["text"].startswith(
        f"<@{USER}> imagined"
    )
    shared, card = slack.channel_messages(CHANNEL)
    assert shared.files == [f.id for f in result.files] and shared.blocks == [] and shared.text == ""
    assert card is result.card and card.files == [] and "seed `9`" in result.summary
    assert result.button(f"easel:d:{result.job_id}")["value"] == ",".join(shared.files)


async def test_the_card_waits_until_slack_has_shared_the_images(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    slack_server.share_delay_s = 0.6  # Slack shares uploaded files a moment after the upload completes
    async with slack_easel_for(slack_settings(), slack_server) as easel:
        await easel.user.slash_command("/imagine", "a quiet pier")
        [result] = await wait_for_results(slack_server)
    shared, card = slack_server.channel_messages(CHANNEL)  # the images first, the card under them
    assert shared.files == [result.files[0].id] and card is result.card
    looks = [c.response["file"]["shares"] for c in slack_server.calls_to("files.info")]
    assert looks[0] == {"public": {}} and CHANNEL in looks[-1]["public"]


async def test_a_card_that_cannot_be_posted_takes_its_images_back(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    slack.fail_next("chat.postMessage", "fatal_error")
    await slack_easel.user.slash_command("/imagine", "a harbour at noon --n 2")
    told = await slack.wait_for("response_url", where=lambda c: "fatal_error" in c.params.get("text", ""))
    assert "quota was not spent" in told[0].params["text"]
    uploaded = [c.response["files"] for c in slack.calls_to("files.completeUploadExternal") if c.ok]
    await slack.wait_for("files.delete", 2)
    assert [c.params["file"] for c in slack.calls_to("files.delete")] == [f["id"] for f in uploaded[0]]
    assert slack.uploaded_files(CHANNEL) == [] and slack.channel_messages(CHANNEL) == []
    async with asyncio.timeout(5):  # the refund follows the message to the requester
        while (await slack_easel.services.jobs.quota_status(Requester("slack", USER))).used:  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_a_stop_before_the_card_is_posted_leaves_no_stray_images(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    settings = slack_settings()
    slack_server.share_delay_s = 60  # Slack is slow to share: the card is still waiting at the stop
    async with slack_easel_for(settings, slack_server) as first:
        await first.user.slash_command("/imagine", "a night ferry")
        [uploaded] = (await slack_server.wait_for("files.completeUploadExternal"))[0].response["files"]
        await slack_server.wait_for("files.info")
        await first.services.jobs.stop(grace_s=0.1)
    assert [c.params["file"] for c in slack_server.calls_to("files.delete")] == [uploaded["id"]]
    slack_server.share_delay_s = 0.0
    async with slack_easel_for(settings, slack_server):
        [result] = await wait_for_results(slack_server, timeout_s=15)  # the resumed job, posted once
    assert slack_server.uploaded_files() == list(result.files) and len(result.files) == 1


async def test_results_in_a_thread_stay_in_the_thread(slack_easel: SlackEasel, stability_server: Any) -> None:
    slack = slack_easel.slack
    picture = slack.add_user_file(png((768, 768)), name="boat.png", user="U0USER0002")
    parent = slack._next_ts()
    await slack_easel.user.message_shortcut("easel_image", files=[picture], thread_ts=parent)
    [opened] = await slack.wait_for("views.open")
    await slack_easel.user.view_action(opened.response["view"], "easel_pick:upscale")
    await slack.wait_for("views.update")
    await slack_easel.user.view_submission(slack.views[opened.response["view"]["id"]], {})
    [first] = await wait_for_results(slack)
    assert first.card.thread_ts == parent and first.files[0].thread_ts == parent  # checked together, too

    await slack_easel.user.block_action(f"easel:r:{first.job_id}", message=first.card)
    [_, again] = await wait_for_results(slack, 2)
    assert again.card.thread_ts == parent and [f.thread_ts for f in again.files] == [parent]
    assert [c.params.get("thread_ts") for c in slack.calls_to("files.completeUploadExternal")] == [parent] * 2


async def test_a_result_posted_before_cards_still_deletes_its_images(slack_easel: SlackEasel) -> None:
    """Older easel put the buttons on the upload itself: Delete there finds the images on the message."""
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/imagine", "an old barn --n 2")
    [result] = await wait_for_results(slack)
    shared, card = slack.channel_messages(CHANNEL)
    old_blocks = copy.deepcopy(card.blocks)  # the same buttons, but Delete lists no files
    [delete] = [el for b in old_blocks if b["type"] == "actions" for el in b["elements"] if "value" in el]
    del delete["value"]
    legacy = StoredMessage(
        CHANNEL, slack._next_ts(), slack.bot_user_id, "", old_blocks, files=list(shared.files)
    )
    slack.messages[(CHANNEL, legacy.ts)] = legacy
    await slack_easel.user.block_action(f"easel:d:{result.job_id}", message=legacy)
    await slack.wait_for("files.delete", 2)
    assert legacy.deleted and slack.uploaded_files(CHANNEL) == []
