"""/verify on Slack: the message shortcut answers privately; the slash command explains how."""

from __future__ import annotations

from tests.fakes.slack import SlackEasel
from tests.fakes.slack.user_side import SentRequest
from tests.helpers.images import png, screenshot_of
from tests.helpers.slack_messages import job_of, result_cards_posted, wait_for_results

CHANNEL = "C0CHANNEL1"
OTHER = "U0USER0002"


async def private_answer(easel: SlackEasel, sent: SentRequest) -> str:
    rid = sent.response_url.rsplit("/", 1)[1]
    [call] = await easel.slack.wait_for("response_url", where=lambda c: c.params.get("_rid") == rid)
    assert call.params["response_type"] == "ephemeral"
    return str(call.params["text"])


async def test_the_shortcut_verifies_a_screenshot_of_a_result(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/imagine", "a lighthouse at dusk")
    [posted] = await wait_for_results(slack)
    result = posted.files[0]
    job_id, _ = job_of(result)
    public = len(slack.calls_to("chat.postMessage"))
    assert result_cards_posted(slack) == public == 1
    shot = slack.add_user_file(screenshot_of(result.data), name="shot.jpg", mimetype="image/jpeg", user=OTHER)

    sent = await slack_easel.user.message_shortcut("easel_verify", files=[shot], author=OTHER)
    assert sent.status == 200 and sent.elapsed_s < 3
    answer = await private_answer(slack_easel, sent)
    assert f"job {job_id[:12]}" in answer and "by /imagine" in answer
    assert "slack:U0USER0001" in answer  # ada asked for it, so ada is told

    theirs = await slack_easel.user.message_shortcut(
        "easel_verify", files=[shot], author=OTHER, user_id=OTHER
    )
    told = await private_answer(slack_easel, theirs)
    assert "easel mark found" in told and "Asked by" not in told
    assert len(slack.calls_to("chat.postMessage")) == public  # nothing public beyond the result


async def test_unmarked_missing_and_fake_pictures_get_plain_answers(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    plain = slack.add_user_file(
        png((640, 480), (20, 90, 160)), name="p.png", mimetype="image/png", user=OTHER
    )
    sent = await slack_easel.user.message_shortcut("easel_verify", files=[plain], author=OTHER)
    assert await private_answer(slack_easel, sent) == "No easel mark found."

    empty = await slack_easel.user.message_shortcut("easel_verify", text="no files here", author=OTHER)
    assert "no PNG, JPEG or WebP picture" in await private_answer(slack_easel, empty)

    fake = slack.add_user_file(b"hello, not a picture", name="x.png", mimetype="image/png", user=OTHER)
    bad = await slack_easel.user.message_shortcut("easel_verify", files=[fake], author=OTHER)
    assert "PNG, JPEG or WebP" in await private_answer(slack_easel, bad)


async def test_the_slash_command_explains_the_shortcut(slack_easel: SlackEasel) -> None:
    sent = await slack_easel.user.slash_command("/verify")
    assert sent.status == 200 and sent.json["response_type"] == "ephemeral"
    assert "Verify with easel" in sent.json["text"]
