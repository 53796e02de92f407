"""Slash commands end to end: real slack-bolt and services, fake Slack and fake Stability on 127.0.0.1."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from PIL import Image

from services.types import Requester
from tests.fakes.slack import FakeSlack, SlackEasel, slack_easel_for
from tests.helpers.images import mask_png, png
from tests.helpers.slack_messages import assert_watermarked_copy_of_original, wait_for_results

CHANNEL = "C0CHANNEL1"
USER = "U0USER0001"
ACK_DEADLINE_S = 3.0


def texts(slack: FakeSlack, kind: str = "response_url") -> list[str]:
    return [str(c.params.get("text", "")) for c in slack.calls_to(kind) if c.ok]


async def test_imagine_posts_watermarked_images_with_escaped_prompt_and_buttons(
    slack_easel: SlackEasel,
) -> None:
    slack = slack_easel.slack
    prompt = "a red fox <!channel> <!here> <@U0VICTIM1> @everyone & friends"
    sent = await slack_easel.user.slash_command("/imagine", f"{prompt} --seed 7 --n 2")
    assert sent.status == 200 and sent.elapsed_s < ACK_DEADLINE_S
    assert sent.text == ""  # acked before any work; the status arrives through the response URL

    [done] = await slack.wait_for("files.completeUploadExternal")
    assert done.params["channel_id"] == CHANNEL
    [result] = await wait_for_results(slack)
    assert len(result.files) == 2 and slack.uploaded_files(CHANNEL) == list(result.files)
    sizes = set()
    for f in result.files:
        sizes.add((await assert_watermarked_copy_of_original(slack_easel, f)).size)
    assert sizes == {(1024, 1024)}

    summary = result.summary
    assert summary.startswith(f"<@{USER}>")
    for dangerous in ("<!channel>", "<!here>", "<@U0VICTIM1>", "@everyone"):
        assert dangerous not in summary
    assert "&lt;!channel&gt;" in summary and "&lt;@U0VICTIM1&gt;" in summary and "&amp; friends" in summary
    assert "seed `7`" in summary and "seed `8`" in summary and "1024×1024" in summary
    job_id = result.job_id
    for verb in ("u", "v", "m"):
        for index in (0, 1):
            assert f"easel:{verb}:{job_id}:{index}" in result.action_ids
    assert f"easel:r:{job_id}" in result.action_ids and f"easel:d:{job_id}" in result.action_ids
    for dangerous in ("<!channel>", "<@U0VICTIM1>"):
        assert dangerous not in result.card.text  # the notification text is escaped too

    statuses = texts(slack)
    assert "position" in statuses[0] or "next" in statuses[0]
    assert statuses[-1].startswith(":white_check_mark:")
    posts = slack.calls_to("response_url")
    assert len(posts) <= 5
    assert posts[0].params["response_type"] == "ephemeral" and posts[0].params["replace_original"] is False
    assert all(p.params["replace_original"] is True for p in posts[1:])


async def test_invalid_flags_answer_privately_and_spend_nothing(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    sent = await slack_easel.user.slash_command("/imagine", "a fox --ar 30:1 --seed banana")
    assert sent.status == 200
    await slack.wait_for("response_url")
    [error] = texts(slack)
    assert error.startswith(":warning:")
    assert "--seed" in error or "--ar" in error
    status = await slack_easel.services.jobs.quota_status(Requester("slack", USER))
    assert status.used == 0
    assert slack.calls_to("files.getUploadURLExternal") == []


async def test_quota_exceeded_is_explained_privately(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    async with slack_easel_for(slack_settings(daily_quota=2), slack_server) as easel:
        await easel.user.slash_command("/imagine", "a kite --n 2")
        await wait_for_results(slack_server)
        await easel.user.slash_command("/imagine", "another kite")
        refusal = await slack_server.wait_for(
            "response_url", where=lambda c: "daily units" in c.params.get("text", "")
        )
        assert "0 of your 2 daily units left" in refusal[0].params["text"]
        assert len(slack_server.calls_to("files.completeUploadExternal")) == 1
        await easel.user.slash_command("/quota")
        quota = await slack_server.wait_for(
            "response_url", where=lambda c: c.params.get("text", "").startswith("You have")
        )
        assert "*0* of your 2" in quota[0].params["text"]


async def test_quota_command_reports_what_is_left(slack_easel: SlackEasel) -> None:
    await slack_easel.user.slash_command("/quota")
    [call] = await slack_easel.slack.wait_for("response_url")
    assert call.params["text"] == (
        "You have *25* of your 25 daily units left (0 images made in the last 24 h; "
        "an image costs 1 unit or more, by model)."
    )
    assert call.params["response_type"] == "ephemeral"


async def test_help_lists_commands_and_flags_from_the_option_declarations(slack_easel: SlackEasel) -> None:
    sent = await slack_easel.user.slash_command("/easel", "help")
    body = sent.json
    assert body["response_type"] == "ephemeral"
    text = "\n".join(b["text"]["text"] for b in body["blocks"] if b["type"] == "section")
    for command in ("/imagine", "/remix", "/inpaint", "/upscale", "/quota"):
        assert command in text
    from commands.options import ASPECT_RATIO, SEED

    assert ASPECT_RATIO.help in text and SEED.help in text
    one = (await slack_easel.user.slash_command("/easel", "help remix")).json
    one_text = "\n".join(b["text"]["text"] for b in one["blocks"])
    assert "*/remix*" in one_text and "--strength" in one_text


async def test_remix_opens_a_modal_and_uses_the_uploaded_picture(
    slack_easel: SlackEasel, stability_server: Any
) -> None:
    slack = slack_easel.slack
    sent = await slack_easel.user.slash_command("/remix", "as a watercolour --strength 0.5")
    assert sent.status == 200 and sent.elapsed_s < ACK_DEADLINE_S
    [opened] = await slack.wait_for("views.open")
    assert opened.params["trigger_id"] == sent.trigger_id
    view = opened.response["view"]
    inputs = {b["element"]["action_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert inputs["image"]["element"]["type"] == "file_input" and inputs["image"]["optional"] is False
    assert inputs["prompt"]["element"]["initial_value"] == "as a watercolour --strength 0.5"
    from commands.options import STRENGTH

    assert inputs["strength"]["hint"]["text"] == STRENGTH.help

    upload = slack.add_user_file(png((800, 600)), name="holiday.png")
    submitted = await slack_easel.user.view_submission(view, {"image": [upload], "samples": "2"})
    assert submitted.status == 200 and submitted.text == ""  # closes the modal

    [result] = await wait_for_results(slack)
    [download] = slack.calls_to("download")
    assert download.token is not None and download.status == 200
    assert len(result.files) == 2
    for f in result.files:
        await assert_watermarked_copy_of_original(slack_easel, f)
    [sent_to_backend] = [
        r for r in stability_server.requests_for("image-to-image") if r.path.endswith("/image-to-image")
    ]
    assert sent_to_backend.form["image_strength"] == "0.5"
    assert sent_to_backend.form["samples"] == "2"
    init = Image.open(io.BytesIO(sent_to_backend.files["init_image"].data))
    assert init.size[0] > init.size[1]  # the 4:3 upload, fitted to a landscape size the engine takes


async def test_inpaint_with_mask_and_upscale_through_modals(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/inpaint", "a red door")
    [opened] = await slack.wait_for("views.open")
    view = opened.response["view"]
    image = slack.add_user_file(png((640, 480)), name="house.png")
    mask = slack.add_user_file(mask_png(640, 480), name="mask.png")
    await slack_easel.user.view_submission(view, {"image": [image], "mask": [mask]})
    [result] = await wait_for_results(slack)
    assert len(slack.calls_to("download")) == 2
    [inpainted] = result.files
    await assert_watermarked_copy_of_original(slack_easel, inpainted)

    await slack_easel.user.slash_command("/upscale")
    opened = (await slack.wait_for("views.open", 2))[1]
    view = opened.response["view"]
    inputs = [b["element"]["action_id"] for b in view["blocks"] if b["type"] == "input"]
    assert "prompt" not in inputs and "image" in inputs
    small = slack.add_user_file(png((512, 512)), name="small.png")
    await slack_easel.user.view_submission(view, {"image": [small]})
    [upscaled] = (await wait_for_results(slack, 2))[-1].files
    posted = await assert_watermarked_copy_of_original(slack_easel, upscaled)
    assert posted.size == (1024, 1024)  # the 512×512 upload, 2× larger


async def test_inpaint_without_mask_or_transparency_is_refused_in_the_modal(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/inpaint", "a red door")
    [opened] = await slack.wait_for("views.open")
    image = slack.add_user_file(png((640, 480)), name="opaque.png")
    await slack_easel.user.view_submission(opened.response["view"], {"image": [image]})
    [error] = await slack.wait_for("response_url")
    assert error.params["text"].startswith(":warning:") and "mask" in error.params["text"]
    assert slack.calls_to("files.getUploadURLExternal") == []


async def test_modal_flag_errors_are_shown_under_the_field(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/remix")
    [opened] = await slack.wait_for("views.open")
    image = slack.add_user_file(png((640, 480)), name="x.png")
    sent = await slack_easel.user.view_submission(
        opened.response["view"], {"image": [image], "prompt": "stormy --strength 7"}
    )
    body = sent.json
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"opt:strength"} or set(body["errors"]) == {"opt:prompt"}
    assert slack.calls_to("download") == []


async def test_file_on_a_foreign_host_is_refused_without_downloading(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/remix", "neon")
    [opened] = await slack.wait_for("views.open")
    # Same fake server, reached under another host name: not Slack's file host, so never fetched.
    foreign = slack.add_user_file(png((640, 480)), name="trap.png", host=f"localhost:{slack.port}")
    await slack_easel.user.view_submission(opened.response["view"], {"image": [foreign]})
    [error] = await slack.wait_for("response_url")
    assert "only download files stored by Slack" in error.params["text"]
    assert slack.calls_to("download") == []
    status = await slack_easel.services.jobs.quota_status(Requester("slack", USER))
    assert status.used == 0


async def test_a_text_file_named_png_is_refused(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/upscale")
    [opened] = await slack.wait_for("views.open")
    fake_png = slack.add_user_file(b"hello, I am not a picture", name="cat.png")
    await slack_easel.user.view_submission(opened.response["view"], {"image": [fake_png]})
    [error] = await slack.wait_for("response_url")
    assert error.params["text"].startswith(":warning:") and "PNG, JPEG or WebP" in error.params["text"]
