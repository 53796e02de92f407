"""Hostile input that only exists on Slack: mention syntax in a bad flag, a file link to a broken port,
the remix and delete buttons of a job that is gone (Slack answers them without a form), forged or
replayed signatures, and bodies bolt cannot parse.

Same checks as ``test_hostile.py``: a polite private reply, nothing spent, the next user served.
"""

from __future__ import annotations

import time

import pytest

from tests.fakes.slack import SlackEasel
from tests.fakes.stability import FakeStabilityServer
from tests.helpers.chat import SlackChat, assert_refused_privately_for_free, assert_stale_button_says_gone
from tests.helpers.images import png


@pytest.fixture
def chat(slack_easel: SlackEasel) -> SlackChat:
    return SlackChat(slack_easel)


async def test_mentions_in_a_bad_flag_are_not_echoed_raw(
    chat: SlackChat, stability_server: FakeStabilityServer
) -> None:
    sent = await chat.run("imagine", "a cat --ar <!channel> & <@U0VICTIM1>")
    reply = await assert_refused_privately_for_free(chat, sent, "--ar", "&lt;!channel&gt;")
    assert "<!channel>" not in reply and "<@U0VICTIM1>" not in reply
    assert stability_server.requests_for("/generation") == []
    await chat.assert_others_served()


async def test_file_link_with_a_broken_port_is_refused(
    chat: SlackChat, stability_server: FakeStabilityServer
) -> None:
    slack = chat.slack
    sent = await chat.easel.user.slash_command("/upscale", "")
    [opened] = await slack.wait_for("views.open")
    odd = slack.add_user_file(png((640, 480)), name="odd.png", host="127.0.0.1:99999")
    submitted = await chat.easel.user.view_submission(opened.response["view"], {"image": [odd]})
    assert submitted.status == 200 and submitted.text == ""
    await assert_refused_privately_for_free(chat, sent, "odd.png", "stored by Slack")
    assert stability_server.requests_for("/generation") == []
    await chat.assert_others_served()


@pytest.mark.parametrize("action_id", ["easel:m:doesnotexist:0", "easel:d:doesnotexist"])
async def test_remix_and_delete_of_an_unknown_job_say_it_is_gone(chat: SlackChat, action_id: str) -> None:
    await assert_stale_button_says_gone(chat, action_id)


async def test_remix_button_of_an_image_that_does_not_exist_opens_no_form(chat: SlackChat) -> None:
    """A forged or stale index (11 digits, past any result) is refused before the form, not after typing."""
    _, job_id = await chat.result("a kite")
    for action_id in (f"easel:m:{job_id}:99999999999", f"easel:m:{job_id}:{'9' * 20}", f"easel:m:{job_id}:1"):
        message = chat.stale_result([action_id])
        sent = await chat.press(message, action_id)
        await assert_refused_privately_for_free(chat, sent, "can't find that image", used=1)
        chat.assert_untouched(message)
    await chat.assert_others_served()


async def test_forged_and_replayed_requests_leave_the_bot_serving(chat: SlackChat) -> None:
    """Refused with 401 and no work (tests/slack/test_slack_requests.py); here: everyone else goes on."""
    forged = chat.easel.user_side(signing_secret="not-the-real-secret")
    assert (await forged.slash_command("/imagine", "a fox")).status == 401
    stale = int(time.time()) - 10 * 60
    assert (await chat.easel.user.slash_command("/imagine", "a fox", timestamp=stale)).status == 401
    assert chat.easel.services.jobs.stats().submitted == 0
    await chat.assert_others_served()


@pytest.mark.parametrize(
    "body",
    ["payload=%7Bnot+json", "payload=null", "payload=%5B1%5D", 'payload={"user": 5}', "{broken"],
    ids=["payload not JSON", "payload null", "payload a list", "user not an object", "body not JSON"],
)
async def test_unreadable_unsigned_bodies_get_400_not_a_crash(
    chat: SlackChat, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    """bolt parses a body before checking its signature; what it can't parse is refused quietly."""
    status, text, _ = await chat.easel.user.send(body, signature="v0=" + "0" * 64)
    assert status == 400 and "Traceback" not in text
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert chat.easel.services.jobs.stats().submitted == 0
    await chat.assert_others_served()
