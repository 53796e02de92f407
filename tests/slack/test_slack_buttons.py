"""Result buttons and the message shortcut: upscale, vary, reroll, remix, delete — also after a restart."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage, slack_easel_for
from tests.helpers.images import png
from tests.helpers.slack_messages import assert_watermarked_copy_of_original, job_of

CHANNEL = "C0CHANNEL1"
REQUESTER = "U0USER0001"
OTHER = "U0USER0002"


async def imagine(
    easel: SlackEasel, text: str = "a lighthouse at dusk --seed 5"
) -> tuple[StoredMessage, str]:
    before = len(easel.slack.calls_to("files.completeUploadExternal"))
    await easel.user.slash_command("/imagine", text)
    await easel.slack.wait_for("files.completeUploadExternal", before + 1)
    message = easel.slack.channel_messages(CHANNEL)[-1]
    job_id, _ = job_of(easel.slack.files[message.files[0]])
    return message, job_id


def img2img(stability_server: Any) -> list[Any]:
    return [r for r in stability_server.requests_for("image-to-image") if r.path.endswith("/image-to-image")]


def pixels(data: bytes) -> bytes:
    return Image.open(io.BytesIO(data)).convert("RGB").tobytes()


async def test_upscale_and_vary_start_from_the_clean_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    message, job_id = await imagine(slack_easel)
    original = await slack_easel.services.jobs.load_original(job_id, 0)

    sent = await slack_easel.user.block_action(f"easel:u:{job_id}:0", message=message, user_id=OTHER)
    assert sent.status == 200 and sent.elapsed_s < 3
    await slack.wait_for("files.completeUploadExternal", 2)
    [upscale] = stability_server.requests_for("upscale")
    assert pixels(upscale.files["image"].data) == pixels(original.png)  # not the watermarked copy
    upscaled = slack.channel_messages(CHANNEL)[-1]
    assert upscaled.blocks[0]["text"]["text"].startswith(f"<@{OTHER}> upscaled")
    posted = await assert_watermarked_copy_of_original(slack_easel, slack.files[upscaled.files[0]])
    assert posted.size == (2048, 2048)

    await slack_easel.user.block_action(f"easel:v:{job_id}:0", message=message)
    await slack.wait_for("files.completeUploadExternal", 3)
    [vary] = img2img(stability_server)
    assert pixels(vary.files["init_image"].data) == pixels(original.png)
    assert vary.form["text_prompts[0][text]"] == "a lighthouse at dusk"
    assert "seed" not in vary.form or vary.form["seed"] == "0"


async def test_reroll_repeats_the_request_with_a_new_seed(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    message, job_id = await imagine(slack_easel, "a paper crane --seed 11 --style origami")
    await slack_easel.user.block_action(f"easel:r:{job_id}", message=message)
    await slack_easel.slack.wait_for("files.completeUploadExternal", 2)
    first, again = stability_server.requests_for("text-to-image")
    assert first.json["seed"] == 11
    assert again.json.get("seed", 0) == 0
    assert again.json["text_prompts"] == first.json["text_prompts"]
    assert again.json["style_preset"] == "origami"


async def test_remix_button_opens_a_prefilled_modal_on_the_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    message, job_id = await imagine(slack_easel, "a castle::2 fog::-0.5")
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
    await slack.wait_for("files.completeUploadExternal", 2)
    [remix] = img2img(stability_server)
    original = await slack_easel.services.jobs.load_original(job_id, 0)
    assert pixels(remix.files["init_image"].data) == pixels(original.png)
    assert remix.form["image_strength"] == "0.3"
    assert slack.calls_to("download") == []


async def test_only_the_requester_can_delete(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    message, job_id = await imagine(slack_easel)
    await slack_easel.user.block_action(f"easel:d:{job_id}", message=message, user_id=OTHER)
    [refusal] = await slack.wait_for(
        "response_url", where=lambda c: "Only the person" in c.params.get("text", "")
    )
    assert refusal.params["response_type"] == "ephemeral" and refusal.params["replace_original"] is False
    assert not slack.messages[(CHANNEL, message.ts)].deleted

    posted_files = list(message.files)
    await slack_easel.user.block_action(f"easel:d:{job_id}", message=message, user_id=REQUESTER)
    await slack.wait_for("chat.delete")
    await slack.wait_for("files.delete", len(posted_files))
    assert slack.messages[(CHANNEL, message.ts)].deleted
    assert [c.params["file"] for c in slack.calls_to("files.delete")] == posted_files
    assert slack.uploaded_files(CHANNEL) == []

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
        message, job_id = await imagine(first)
    async with slack_easel_for(settings, slack_server) as second:
        await second.user.block_action(f"easel:u:{job_id}:0", message=message)
        await slack_server.wait_for("files.completeUploadExternal", 2)
        upscaled = slack_server.channel_messages(CHANNEL)[-1]
        posted = await assert_watermarked_copy_of_original(second, slack_server.files[upscaled.files[0]])
        assert posted.size == (2048, 2048)


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
    await slack.wait_for("files.completeUploadExternal")
    [download] = slack.calls_to("download")
    assert download.params["file"] == picture["id"]
    [remix] = img2img(stability_server)
    assert remix.form["text_prompts[0][text]"] == "at sunset"


async def test_message_shortcut_on_a_result_upscales_the_clean_original(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    message, job_id = await imagine(slack_easel)
    result_file = slack.files[message.files[0]].to_api()
    await slack_easel.user.message_shortcut("easel_image", files=[result_file], author=slack.bot_user_id)
    [opened] = await slack.wait_for("views.open")
    await slack_easel.user.view_action(opened.response["view"], "easel_pick:upscale")
    await slack.wait_for("views.update")
    form = slack.views[opened.response["view"]["id"]]
    await slack_easel.user.view_submission(form, {})
    await slack.wait_for("files.completeUploadExternal", 2)
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
    await slack.wait_for("files.completeUploadExternal")
    assert [c.params["file"] for c in slack.calls_to("files.info")] == [picture["id"]]
    [download] = slack.calls_to("download")
    assert download.params["file"] == picture["id"]
