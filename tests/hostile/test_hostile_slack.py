"""Hostile input on Slack: every refusal is private, polite and free, and the next user is served.

Each case is what a user (or a stale message) can send: a bad flag, a fake or oversize picture, a mask
of the wrong shape, a failing image service, no quota left, a button of a job that is gone. For each
the test checks (a) a clear ephemeral reply through the response URL, (b) the sender's quota is
unchanged, (c) another user's /imagine right afterwards is still posted in the channel.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import pytest

from services.types import Requester
from tests.fakes.slack import FakeSlack, SlackEasel, StoredMessage, slack_easel_for
from tests.fakes.stability import FakeStabilityServer
from tests.helpers.images import grey_png as grey
from tests.helpers.images import mask_png, png
from tests.helpers.images import png_header_only as png_bomb
from tests.helpers.slack_messages import job_of

CHANNEL = "C0CHANNEL1"
USER = "U0USER0001"
WARNINGS = (":warning:", ":no_entry:")


async def used(easel: SlackEasel, user: str = USER) -> int:
    return (await easel.services.jobs.quota_status(Requester("slack", user))).used


async def assert_private_and_free(
    easel: SlackEasel, response_url: str, *expected: str, quota_used: int = 0
) -> str:
    """(a) an ephemeral warning on the caller's response URL saying ``expected``; (b) quota unchanged."""
    slack = easel.slack
    rid = response_url.rsplit("/", 1)[1]
    posted = len(slack.calls_to("files.completeUploadExternal"))
    [call] = await slack.wait_for(
        "response_url",
        where=lambda c: c.params.get("_rid") == rid and str(c.params.get("text", "")).startswith(WARNINGS),
    )
    text = str(call.params["text"])
    assert call.params["response_type"] == "ephemeral"
    for words in expected:
        assert words in text, (words, text)
    assert "Traceback" not in text and "went wrong" not in text
    assert await used(easel) == quota_used
    assert len(slack.calls_to("files.completeUploadExternal")) == posted  # nothing public
    assert slack.calls_to("chat.postMessage") == []
    return text


async def assert_others_served(easel: SlackEasel) -> None:
    """(c) someone else's /imagine is still posted in the channel."""
    slack = easel.slack
    other = f"U0OTHER{len(slack.calls):04d}"
    before = len(slack.calls_to("files.completeUploadExternal"))
    await easel.user.slash_command("/imagine", "a calm lake", user_id=other)
    await slack.wait_for("files.completeUploadExternal", before + 1, timeout_s=15)
    message = slack.channel_messages(CHANNEL)[-1]
    assert message.blocks[0]["text"]["text"].startswith(f"<@{other}>")
    assert await used(easel, other) == 1


# ---------------------------------------------------------------- bad text in a slash command

BAD_TEXT: dict[str, tuple[str, tuple[str, ...]]] = {
    "unknown flag": ("a cat --sed 7", ("--sed", "--seed")),
    "flag out of range": ("a cat --n 50", ("--n", "between 1 and 10")),
    "bad flag value": ("a cat --cfg lots", ("--cfg", "lots")),
    "empty prompt": ("--seed 5", ("describe the image",)),
    "prompt over 2000 characters": ("a" * 2001, ("2001", "2000")),
    "mentions in a bad flag are not echoed raw": (
        "a cat --ar <!channel> & <@U0VICTIM1>",
        ("--ar", "&lt;!channel&gt;"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
async def test_bad_command_text_is_refused_privately_for_free(
    slack_easel: SlackEasel, stability_server: FakeStabilityServer, case: str
) -> None:
    text, expected = BAD_TEXT[case]
    sent = await slack_easel.user.slash_command("/imagine", text)
    assert sent.status == 200 and sent.text == ""
    reply = await assert_private_and_free(slack_easel, sent.response_url, *expected)
    assert "<!channel>" not in reply and "<@U0VICTIM1>" not in reply
    assert stability_server.requests_for("/generation") == []
    await assert_others_served(slack_easel)


# ---------------------------------------------------------------- bad pictures in a command's form


Files = Callable[[FakeSlack, int], Mapping[str, Any]]

BAD_FILES: dict[str, tuple[str, str, Files, tuple[str, ...]]] = {
    "text file named .png": (
        "upscale",
        "",
        lambda s, _: {"image": [s.add_user_file(b"hello, I am text", name="cat.png")]},
        ("cat.png", "PNG, JPEG or WebP"),
    ),
    "20000x20000 PNG bomb": (
        "remix",
        "x",
        lambda s, _: {"image": [s.add_user_file(png_bomb(), name="bomb.png")]},
        ("20000×20000", "megapixels"),
    ),
    "oversize upload": (
        "upscale",
        "",
        lambda s, limit: {"image": [s.add_user_file(b"\x89PNG" + b"\0" * limit, name="huge.png")]},
        ("MB", "smaller file"),
    ),
    "upload larger than it claims": (
        "upscale",
        "",
        lambda s, limit: {
            "image": [
                {**s.add_user_file(b"\x89PNG\r\n\x1a\n" + b"\0" * limit, name="liar.png"), "size": 1234}
            ]
        },
        ("MB", "smaller file"),
    ),
    "link with a broken port": (
        "upscale",
        "",
        lambda s, _: {"image": [s.add_user_file(png((640, 480)), name="odd.png", host="127.0.0.1:99999")]},
        ("odd.png", "stored by Slack"),
    ),
    "mask of another shape": (
        "inpaint",
        "a door",
        lambda s, _: {
            "image": [s.add_user_file(png((640, 480)), name="wall.png")],
            "mask": [s.add_user_file(grey((300, 200)), name="mask.png")],
        },
        ("300×200", "640×480", "same shape"),
    ),
    "inpaint without mask on an opaque image": (
        "inpaint",
        "a door",
        lambda s, _: {"image": [s.add_user_file(png((640, 480)), name="wall.png")]},
        ("mask", "transparent"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_pictures_are_refused_privately_for_free(
    slack_easel: SlackEasel, stability_server: FakeStabilityServer, case: str
) -> None:
    slack = slack_easel.slack
    command, text, files, expected = BAD_FILES[case]
    sent = await slack_easel.user.slash_command(f"/{command}", text)
    [opened] = await slack.wait_for("views.open")
    limit = slack_easel.services.backend.limits.max_input_bytes
    submitted = await slack_easel.user.view_submission(opened.response["view"], files(slack, limit))
    assert submitted.status == 200 and submitted.text == ""  # the form closes; the answer follows
    await assert_private_and_free(slack_easel, sent.response_url, *expected)
    assert stability_server.requests_for("/generation") == []
    await assert_others_served(slack_easel)


async def test_a_good_mask_still_works_after_the_refusals(slack_easel: SlackEasel) -> None:
    """The refusals above are about the inputs, not /inpaint: the same form with a fitting mask works."""
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/inpaint", "a door")
    [opened] = await slack.wait_for("views.open")
    image = slack.add_user_file(png((640, 480)), name="wall.png")
    mask = slack.add_user_file(mask_png(640, 480), name="mask.png")
    await slack_easel.user.view_submission(opened.response["view"], {"image": [image], "mask": [mask]})
    await slack.wait_for("files.completeUploadExternal")
    assert await used(slack_easel) == 1


# ---------------------------------------------------------------- the image service fails


@pytest.fixture
async def quick_easel(
    slack_server: FakeSlack, slack_settings: Callable[..., Any], stability_server: FakeStabilityServer
) -> AsyncIterator[SlackEasel]:
    """easel on Slack with Stability v1 retrying and timing out fast enough for a test."""
    from services.backends.stability_v1 import StabilityV1Backend

    backend = StabilityV1Backend(
        stability_server.api_key,
        host=stability_server.url,
        max_attempts=2,
        retry_base_delay_s=0.01,
        timeout_s=1.5,
    )
    async with slack_easel_for(slack_settings(), slack_server, backend=backend) as easel:
        yield easel


BACKEND_FAULTS: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "400 refusal shows its message": (
        {"status": 400, "message": "invalid_prompts: One or more prompts contains filtered words."},
        ("refused", "filtered words"),
    ),
    "500s until retries run out": ({"status": 500, "times": 2}, ("busy or unreachable", "not spent")),
    "429s until retries run out": (
        {"status": 429, "retry_after": 0, "times": 2},
        ("busy or unreachable", "not spent"),
    ),
    "content filter": ({"content_filtered": True}, ("safety filter", "not spent")),
    "timeout": ({"delay_s": 30, "times": 2}, ("busy or unreachable", "not spent")),
}


@pytest.mark.parametrize("case", list(BACKEND_FAULTS))
async def test_backend_failure_is_private_and_refunded(
    quick_easel: SlackEasel, stability_server: FakeStabilityServer, case: str
) -> None:
    fault, expected = BACKEND_FAULTS[case]
    stability_server.inject(**fault)
    sent = await quick_easel.user.slash_command("/imagine", "a lighthouse --n 2")
    await assert_private_and_free(quick_easel, sent.response_url, *expected)
    await assert_others_served(quick_easel)


async def test_quota_exceeded_says_when_in_the_readers_time_zone(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    async with slack_easel_for(slack_settings(daily_quota=2), slack_server) as easel:
        await easel.user.slash_command("/imagine", "a kite --n 2")
        await slack_server.wait_for("files.completeUploadExternal")
        sent = await easel.user.slash_command("/imagine", "another kite")
        text = await assert_private_and_free(easel, sent.response_url, "0 of your 2", quota_used=2)
        assert "<!date^" in text and "UTC>" in text  # Slack shows it in the reader's time zone
        await assert_others_served(easel)


# ---------------------------------------------------------------- buttons of jobs that are gone


def stale_message(slack: FakeSlack, action_ids: list[str]) -> StoredMessage:
    """A result easel posted earlier whose job is unknown now (say, the data dir was lost)."""
    ts = slack._next_ts()
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": str(n)}, "action_id": aid}
        for n, aid in enumerate(action_ids)
    ]
    message = StoredMessage(
        channel=CHANNEL,
        ts=ts,
        user=slack.bot_user_id,
        text="an old result",
        blocks=[{"type": "actions", "block_id": "old", "elements": buttons}],
    )
    slack.messages[(CHANNEL, ts)] = message
    return message


@pytest.mark.parametrize(
    "action_id",
    [
        "easel:u:doesnotexist:0",
        "easel:v:doesnotexist:1",
        "easel:r:doesnotexist",
        "easel:m:doesnotexist:0",
        "easel:i:doesnotexist",
        "easel:d:doesnotexist",
    ],
)
async def test_button_of_an_unknown_job_says_it_is_gone(slack_easel: SlackEasel, action_id: str) -> None:
    message = stale_message(slack_easel.slack, [action_id])
    sent = await slack_easel.user.block_action(action_id, message=message)
    assert sent.status == 200 and sent.elapsed_s < 3
    await assert_private_and_free(slack_easel, sent.response_url, "can't find that image")
    assert slack_easel.slack.calls_to("views.open") == []
    assert slack_easel.slack.calls_to("chat.delete") == []
    await assert_others_served(slack_easel)


async def test_buttons_of_a_deleted_result_say_it_is_gone(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/imagine", "a kite --n 2")
    await slack.wait_for("files.completeUploadExternal")
    message = slack.channel_messages(CHANNEL)[-1]
    job_id, _ = job_of(slack.files[message.files[0]])
    await slack_easel.user.block_action(f"easel:d:{job_id}", message=message)
    await slack.wait_for("chat.delete")
    for action_id in (
        f"easel:u:{job_id}:0",
        f"easel:v:{job_id}:1",
        f"easel:r:{job_id}",
        f"easel:m:{job_id}:0",
    ):
        sent = await slack_easel.user.block_action(action_id, message=message)
        await assert_private_and_free(slack_easel, sent.response_url, "can't find that image", quota_used=2)
    await assert_others_served(slack_easel)


async def test_button_for_an_image_index_that_does_not_exist(slack_easel: SlackEasel) -> None:
    slack = slack_easel.slack
    await slack_easel.user.slash_command("/imagine", "a kite")
    await slack.wait_for("files.completeUploadExternal")
    job_id, _ = job_of(slack.files[slack.channel_messages(CHANNEL)[-1].files[0]])
    message = stale_message(slack, [f"easel:u:{job_id}:7", f"easel:v:{job_id}:999"])
    for action_id in (f"easel:u:{job_id}:7", f"easel:v:{job_id}:999"):
        sent = await slack_easel.user.block_action(action_id, message=message)
        await assert_private_and_free(slack_easel, sent.response_url, "can't find that image", quota_used=1)
    await assert_others_served(slack_easel)


async def test_forged_and_replayed_requests_leave_the_bot_serving(slack_easel: SlackEasel) -> None:
    """Refused with 401 and no work (tests/test_slack_requests.py); here: everyone else goes on."""
    import time

    forged = slack_easel.user_side(signing_secret="not-the-real-secret")
    assert (await forged.slash_command("/imagine", "a fox")).status == 401
    stale = int(time.time()) - 10 * 60
    assert (await slack_easel.user.slash_command("/imagine", "a fox", timestamp=stale)).status == 401
    assert slack_easel.services.jobs.stats().submitted == 0
    await assert_others_served(slack_easel)


@pytest.mark.parametrize(
    "body",
    ["payload=%7Bnot+json", "payload=null", "payload=%5B1%5D", 'payload={"user": 5}', "{broken"],
    ids=["payload not JSON", "payload null", "payload a list", "user not an object", "body not JSON"],
)
async def test_unreadable_unsigned_bodies_get_400_not_a_crash(
    slack_easel: SlackEasel, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    """bolt parses a body before checking its signature; what it can't parse is refused quietly."""
    status, text, _ = await slack_easel.user.send(body, signature="v0=" + "0" * 64)
    assert status == 400 and "Traceback" not in text
    assert [r for r in caplog.records if r.levelname == "ERROR"] == []
    assert slack_easel.services.jobs.stats().submitted == 0
    await assert_others_served(slack_easel)
