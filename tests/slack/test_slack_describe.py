"""/describe on Slack: the caption, its *Imagine this* button (also after a restart), and backends without it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.types import Requester
from tests.fakes.a1111 import FakeA1111
from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage, slack_easel_for
from tests.helpers.images import png
from tests.helpers.slack_messages import wait_for_results

CHANNEL = "C0CHANNEL1"
REQUESTER = "U0USER0001"
OTHER = "U0USER0002"


def gpu_settings(slack_settings: Callable[..., Any], gpu: FakeA1111) -> Any:
    return slack_settings(backend="gpu-host", gpu_host_url=gpu.url)


async def describe(easel: SlackEasel) -> StoredMessage:
    """/describe a picture through the form; the text result posted in the channel."""
    slack = easel.slack
    opened_before = len(slack.calls_to("views.open"))
    await easel.user.slash_command("/describe")
    opened = await slack.wait_for("views.open", opened_before + 1)
    picture = slack.add_user_file(png((512, 512)), name="pier.png")
    await easel.user.view_submission(opened[-1].response["view"], {"image": [picture]})
    [posted] = await slack.wait_for(
        "chat.postMessage", where=lambda c: "describe" in c.params["text"], timeout_s=15
    )
    return slack.messages[(CHANNEL, posted.response["ts"])]


def imagine_button(message: StoredMessage) -> dict[str, Any]:
    buttons = [
        el
        for block in message.blocks
        if block["type"] == "actions"
        for el in block["elements"]
        if el["type"] == "button"
    ]
    [button] = [b for b in buttons if b["text"]["text"] == "Imagine this"]
    return button


async def test_describe_posts_the_caption_with_an_imagine_button_that_imagines_it(
    slack_server: FakeSlack, slack_settings: Callable[..., Any], a1111_server: FakeA1111
) -> None:
    async with slack_easel_for(gpu_settings(slack_settings, a1111_server), slack_server) as easel:
        message = await describe(easel)
        button = imagine_button(message)
        job_id = button["action_id"].removeprefix("easel:i:")
        caption = (await easel.services.jobs.get_job(job_id)).text
        assert caption and caption.startswith("a painting of a")
        assert message.text.startswith(f"<@{REQUESTER}> asked me to describe a picture:")
        assert f"> {caption}" in message.blocks[0]["text"]["text"]
        assert f"`/imagine {caption}`" in message.text

        # The caption comes from the job, not from the message a client sends back.
        message.blocks[0]["text"]["text"] = "<!channel> something else entirely"
        sent = await easel.user.block_action(button["action_id"], message=message, user_id=OTHER)
        assert sent.status == 200 and sent.elapsed_s < 3
        [result] = await wait_for_results(slack_server, timeout_s=15)

        assert a1111_server.last("/sdapi/v1/txt2img").json["prompt"] == caption
        assert result.files and result.card.thread_ts == message.thread_ts
        assert result.summary.startswith(f"<@{OTHER}> imagined:")
        # The presser pays for the image; the describer paid for the description only.
        other = await easel.services.jobs.quota_status(Requester("slack", OTHER))
        requester = await easel.services.jobs.quota_status(Requester("slack", REQUESTER))
        assert other.used == 1 and requester.used == 1


async def test_imagine_button_works_after_a_restart(
    slack_server: FakeSlack, slack_settings: Callable[..., Any], a1111_server: FakeA1111
) -> None:
    settings = gpu_settings(slack_settings, a1111_server)
    async with slack_easel_for(settings, slack_server) as first:
        message = await describe(first)
        button = imagine_button(message)
        caption = (await first.services.jobs.get_job(button["action_id"].removeprefix("easel:i:"))).text
    assert a1111_server.calls("/sdapi/v1/txt2img") == []
    async with slack_easel_for(settings, slack_server) as second:
        await second.user.block_action(button["action_id"], message=message)
        [result] = await wait_for_results(slack_server, timeout_s=15)
        assert a1111_server.last("/sdapi/v1/txt2img").json["prompt"] == caption
        assert len(result.files) == 1


async def test_describe_is_refused_on_a_backend_without_it(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    for command, text in (("/describe", ""), ("/easel", "describe")):
        sent = await slack_easel.user.slash_command(command, text)
        assert sent.status == 200 and sent.elapsed_s < 3
        assert sent.json["response_type"] == "ephemeral"
        assert sent.json["text"] == ":warning: /describe isn't available on this backend."

    # The message shortcut doesn't offer it either.
    picture = slack.add_user_file(png((512, 512)), name="beach.png", user=OTHER)
    await slack_easel.user.message_shortcut("easel_image", files=[picture], author=OTHER)
    [opened] = await slack.wait_for("views.open")
    chooser = str(opened.response["view"]["blocks"])
    assert "easel_pick:remix" in chooser and "easel_pick:describe" not in chooser

    assert slack.calls_to("chat.postMessage") == []
    assert [c for c in stability_server.requests if "/generation/" in c.path] == []
    status = await slack_easel.services.jobs.quota_status(Requester("slack", REQUESTER))
    assert status.used == 0
