"""Result buttons and the message shortcut: upscale, vary, reroll, remix, delete — also after a restart."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from tests.fakes.slack import FakeSlack, SlackEasel, slack_easel_for
from tests.helpers.images import png
from tests.helpers.slack_messages import (
    PostedResult,
    assert_watermarked_copy_of_original,
    result_cards_posted,
    wait_for_results,
)

CHANNEL = "C0CHANNEL1"
REQUESTER = "U0USER0001"
OTHER = "U0USER0002"


async def imagine(easel: SlackEasel, text: str = "a lighthouse at dusk --seed 5") -> PostedResult:
    """A new /imagine result: its card (the buttons are there), its images and its job."""
    return await next_result(easel, lambda: easel.user.slash_command("/imagine", text))


async def next_result(easel: SlackEasel, act: Callable[[], Any]) -> PostedResult:
    before = result_cards_posted(easel.slack)
    await act()
    return (await wait_for_results(easel.slack, before + 1))[-1]


def img2img(stability_server: Any) -> list[Any]:
    return [r for r in stability_server.requests_for("image-to-image") if r.path.endswith("/image-to-image")]


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


async def test_upscale_and_vary_start_from_the_clean_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    result = await imagine(slack_easel)
    message, job_id = result.card, result.job_id
    original = await slack_easel.services.jobs.load_original(job_id, 0)

    sent = await slack_easel.user.block_action(f"easel:u:{job_id}:0", message=message, user_id=OTHER)
    assert sent.status == 200 and sent.elapsed_s < 3
    upscaled = (await wait_for_results(slack, 2))[-1]
    [upscale] = stability_server.requests_for("upscale")
    assert pixels(upscale.files["image"].data) == pixels(original.png)  # not the watermarked copy
    assert upscaled.summary.startswith(f"<@{OTHER}> upscaled")
    posted = await assert_watermarked_copy_of_original(slack_easel, upscaled.files[0])
    assert posted.size == (2048, 2048)

    await slack_easel.user.block_action(f"easel:v:{job_id}:0", message=message)
    await wait_for_results(slack, 3)
    [vary] = img2img(stability_server)
    assert pixels(vary.files["init_image"].data) == pixels(original.png)
    assert vary.form["text_prompts[0][text]"] == "a lighthouse at dusk"
    assert "seed" not in vary.form or vary.form["seed"] == "0"


async def test_reroll_repeats_the_request_with_a_new_seed(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    result = await imagine(slack_easel, "a paper crane --seed 11 --style origami")
    message, job_id = result.card, result.job_id
    await slack_easel.user.block_action(f"easel:r:{job_id}", message=message)
    await wait_for_results(slack_easel.slack, 2)
    first, again = stability_server.requests_for("text-to-image")
    assert first.json["seed"] == 11
    assert again.json.get("seed", 0) == 0
    assert again.json["text_prompts"] == first.json["text_prompts"]
    assert again.json["style_preset"] == "origami"


async def test_remix_button_opens_a_prefilled_modal_on_the_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    result = await imagine(slack_easel, "a castle::2 fog::-0.5")
    message, job_id = result.card, result.job_id
    sent = await slack_easel.user.block_action(f"easel:m:{job_id}:0", message=message)
    [opened] = await slack.wait_for("views.open")
    assert opened.params["trigger_id"] == sent.trigger_id
    view = opened.response["view"]
    inputs = {b["element"]["action_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert "image" not in inputs  # the stored original is used
    assert inputs["prompt"]["initial_value"] == "a castle::2 fog::-0.5"
    await slack_easel.user.view_submission(
        view, {"prompt": "a castle at night::2 fog::-0.5", "strength": "0.3"}
    )
    await wait_for_results(slack, 2)
    [remix] = img2img(stability_server)
    original = await slack_easel.services.jobs.load_original(job_id, 0)
    assert pixels(remix.files["init_image"].data) == pixels(original.png)
    assert remix.form["image_strength"] == "0.3"
    assert slack.calls_to("download") == []


async def test_only_the_requester_can_delete(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    result = await imagine(slack_easel, "two kites --n 2")
    message, job_id = result.card, result.job_id
    await slack_easel.user.block_action(f"easel:d:{job_id}", message=message, user_id=OTHER)
    [refusal] = await slack.wait_for(
        "response_url", where=lambda c: "Only the person" in c.params.get("text", "")
    )
    assert refusal.params["response_type"] == "ephemeral" and refusal.params["replace_original"] is False
    assert not slack.messages[(CHANNEL, message.ts)].deleted
    assert slack.calls_to("files.delete") == [] and len(slack.uploaded_files(CHANNEL)) == 2

    posted_files = [f.id for f in result.files]
    await slack_easel.user.block_action(f"easel:d:{job_id}", message=message, user_id=REQUESTER)
    await slack.wait_for("chat.delete")
    await slack.wait_for("files.delete", len(posted_files))
    assert slack.messages[(CHANNEL, message.ts)].deleted  # the card
    assert [c.params["file"] for c in slack.calls_to("files.delete")] == posted_files
    assert slack.uploaded_files(CHANNEL) == []  # the images
    assert slack.channel_messages(CHANNEL) == []  # and so the message that shared them

    await slack_easel.user.block_action(f"easel:u:{job_id}:0", message=message)
    gone = await slack.wait_for(
        "response_url", where=lambda c: "can't find that image" in c.params.get("text", "")
    )
    assert gone[0].params["text"].startswith(":warning:")


async def test_buttons_work_after_a_restart(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    settings = slack_settings()
    async with slack_easel_for(settings, slack_server) as first:
        result = await imagine(first)
    message, job_id = result.card, result.job_id
    async with slack_easel_for(settings, slack_server) as second:
        await second.user.block_action(f"easel:u:{job_id}:0", message=message)
        first_result, upscaled = await wait_for_results(slack_server, 2)
        posted = await assert_watermarked_copy_of_original(second, upscaled.files[0])
        assert posted.size == (2048, 2048)

        await second.user.block_action(f"easel:d:{job_id}", message=message)  # the card posted before
        await slack_server.wait_for("files.delete")
        assert slack_server.messages[(CHANNEL, message.ts)].deleted
        assert not any(f.id in slack_server.files for f in first_result.files)
        assert slack_server.uploaded_files(CHANNEL) == list(upscaled.files)


async def test_message_shortcut_remixes_a_users_picture(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    picture = slack.add_user_file(png((1024, 768)), name="beach.jpg.png", user=OTHER)
    sent = await slack_easel.user.message_shortcut("easel_image", files=[picture], author=OTHER)
    assert sent.status == 200 and sent.elapsed_s < 3
    [opened] = await slack.wait_for("views.open")
    chooser = opened.response["view"]
    await slack_easel.user.view_action(chooser, "easel_pick:remix")
    [updated] = await slack.wait_for("views.update")
    assert updated.params["view_id"] == chooser["id"]
    form = slack.views[chooser["id"]]
    inputs = [b["element"]["action_id"] for b in form["blocks"] if b["type"] == "input"]
    assert "image" not in inputs and "prompt" in inputs
    await slack_easel.user.view_submission(form, {"prompt": "at sunset"})
    await wait_for_results(slack)
    [download] = slack.calls_to("download")
    assert download.params["file"] == picture["id"]
    [remix] = img2img(stability_server)
    assert remix.form["text_prompts[0][text]"] == "at sunset"


async def test_message_shortcut_on_a_result_upscales_the_clean_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    result = await imagine(slack_easel)
    job_id, result_file = result.job_id, result.files[0].to_api()  # the shortcut is used on the images
    await slack_easel.user.message_shortcut("easel_image", files=[result_file], author=slack.bot_user_id)
    [opened] = await slack.wait_for("views.open")
    await slack_easel.user.view_action(opened.response["view"], "easel_pick:upscale")
    await slack.wait_for("views.update")
    form = slack.views[opened.response["view"]["id"]]
    await slack_easel.user.view_submission(form, {})
    await wait_for_results(slack, 2)
    assert slack.calls_to("download") == []
    [upscale] = stability_server.requests_for("upscale")
    original = await slack_easel.services.jobs.load_original(job_id, 0)
    assert pixels(upscale.files["image"].data) == pixels(original.png)


async def test_message_shortcut_without_a_picture_says_so(slack_easel: SlackEasel) -> None:
    await slack_easel.user.message_shortcut("easel_image", text="just words")
    [opened] = await slack_easel.slack.wait_for("views.open")
    view = opened.response["view"]
    assert view["title"]["text"] == "No picture found"
    assert "no picture" in view["blocks"][0]["text"]["text"]


async def test_shortcut_on_a_file_without_links_looks_it_up_with_files_info(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    picture = slack.add_user_file(png((768, 768)), name="sketch.png", user=OTHER)
    # Slack sometimes sends only a stub ("file_access": "check_file_info") instead of the whole file.
    stub = {"id": picture["id"], "file_access": "check_file_info"}
    await slack_easel.user.message_shortcut("easel_image", files=[stub], author=OTHER)
    [opened] = await slack.wait_for("views.open")
    await slack_easel.user.view_action(opened.response["view"], "easel_pick:upscale")
    await slack.wait_for("views.update")
    await slack_easel.user.view_submission(slack.views[opened.response["view"]["id"]], {})
    await wait_for_results(slack)
    assert slack.calls_to("files.info")[0].params["file"] == picture["id"]  # before the download
    [download] = slack.calls_to("download")
    assert download.params["file"] == picture["id"]
