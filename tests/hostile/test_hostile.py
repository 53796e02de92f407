"""Hostile input, on Discord and on Slack: every refusal is private, polite and free, the next user is served.

Each case is what a user (or a modified client, or a stale message) can send: a bad flag, a fake or
oversize picture, a mask of the wrong shape, a failing image service, no quota left, a button of a
job that is gone. Each is written once and run on both platforms (the ``chat`` fixture); for each the
test checks (a) a clear private reply, (b) the sender's quota is unchanged, (c) another user's
/imagine right afterwards is still served. Cases that exist on one platform only are in
``test_discord_only.py`` and ``test_slack_only.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest

from tests.fakes.stability import FakeStabilityServer
from tests.helpers.chat import (
    Chat,
    StartChat,
    Upload,
    assert_refused_privately_for_free,
    assert_stale_button_says_gone,
)
from tests.helpers.images import grey_png, mask_png, png, png_header_only

# ---------------------------------------------------------------- bad text in a slash command

BAD_TEXT: dict[str, tuple[str, tuple[str, ...]]] = {
    "unknown flag": ("a cat --sed 7", ("--sed", "--seed")),
    "flag out of range": ("a cat --n 50", ("--n", "between 1 and 10")),
    "bad flag value": ("a cat --cfg lots", ("--cfg", "lots")),
    "empty prompt": ("--seed 5", ("describe the image",)),
    "prompt over 2000 characters": ("a" * 2001, ("2001", "2000")),
}


@pytest.mark.parametrize("case", list(BAD_TEXT))
async def test_bad_command_text_is_refused_privately_for_free(
    chat: Chat, stability_server: FakeStabilityServer, case: str
) -> None:
    text, expected = BAD_TEXT[case]
    sent = await chat.run("imagine", text)
    await assert_refused_privately_for_free(chat, sent, *expected)
    assert stability_server.requests_for("/generation") == []
    await chat.assert_others_served()


LONG_ECHOES: dict[str, tuple[str, tuple[str, ...]]] = {
    "5,000-character unknown flag": ("a cat --" + "x" * 5000, ("I don't know the flag", "5,000 characters")),
    "310-digit seed": ("a cat --seed " + "9" * 310, ("--seed", "between 0 and", "310 characters")),
    "5,000-digit count": ("a cat --n " + "1" * 5000, ("--n", "between 1 and 10")),
    "900-character style": ("a cat --style " + "z" * 900, ("--style", "900 characters")),
    "5,801-character ratio": ("a cat --ar " + "1" * 2900 + ":" + "1" * 2900, ("--ar", "too extreme")),
}


@pytest.mark.parametrize("case", list(LONG_ECHOES))
async def test_long_input_is_quoted_as_a_short_excerpt_and_the_reply_fits(
    chat: Chat, stability_server: FakeStabilityServer, case: str
) -> None:
    text, expected = LONG_ECHOES[case]
    sent = await chat.run("imagine", text)
    reply = await assert_refused_privately_for_free(chat, sent, *expected)
    assert len(reply) < 600, reply  # an excerpt, not the flood; far inside every platform's limit
    assert "x" * 60 not in reply and "9" * 60 not in reply and "1" * 60 not in reply
    assert stability_server.requests_for("/generation") == []
    await chat.assert_others_served()


# ---------------------------------------------------------------- bad pictures


@dataclass(frozen=True)
class PictureCase:
    """``files`` get the backend's input byte limit; ``expected`` words are said on both platforms,
    ``also`` words on one (the two front ends word some refusals differently today)."""

    command: str
    text: str
    files: Callable[[int], dict[str, Upload]]
    expected: tuple[str, ...]
    also: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


BAD_FILES: dict[str, PictureCase] = {
    "text file named .png": PictureCase(
        "remix",
        "x",
        lambda _: {"image": Upload(b"hello, I am text", "cat.png")},
        ("PNG, JPEG or WebP",),
        also={"slack": ("cat.png",)},
    ),
    "text file declared as text": PictureCase(
        "upscale",
        "",
        lambda _: {"image": Upload(b"hello", "notes.txt", "text/plain")},
        ("PNG, JPEG or WebP",),
        also={"discord": ("text/plain",), "slack": ("notes.txt",)},
    ),
    "20000x20000 PNG bomb": PictureCase(
        "upscale",
        "",
        lambda _: {"image": Upload(png_header_only(20_000, 20_000), "bomb.png")},
        ("20000×20000", "megapixels"),
    ),
    "oversize upload": PictureCase(
        "remix",
        "x",
        lambda limit: {"image": Upload(b"\x89PNG" + b"\0" * limit, "huge.png")},
        ("MB", "smaller file"),
    ),
    "upload larger than it claims": PictureCase(
        # The declared size is the client's word; the download itself stops at the byte limit.
        "upscale",
        "",
        lambda limit: {"image": Upload(b"\x89PNG\r\n\x1a\n" + b"\0" * limit, "liar.png", claimed_size=1234)},
        ("MB",),
        also={"discord": ("larger than",), "slack": ("smaller file",)},
    ),
    "mask of another shape": PictureCase(
        "inpaint",
        "a door",
        lambda _: {
            "image": Upload(png((640, 480)), "wall.png"),
            "mask": Upload(grey_png((300, 200)), "mask.png"),
        },
        ("300×200", "640×480", "same shape"),
    ),
    "inpaint without mask on an opaque image": PictureCase(
        "inpaint",
        "a door",
        lambda _: {"image": Upload(png((640, 480)), "wall.png")},
        ("mask", "transparent"),
    ),
    "all-black mask with white repainted": PictureCase(
        "inpaint",
        "a door --mask-source white",
        lambda _: {
            "image": Upload(png((640, 480)), "wall.png"),
            "mask": Upload(png((640, 480), (0,), "L"), "mask.png"),
        },
        ("selects no area", "all black"),
    ),
    "all-white mask with black repainted": PictureCase(
        "inpaint",
        "a door --mask-source black",
        lambda _: {
            "image": Upload(png((640, 480)), "wall.png"),
            "mask": Upload(grey_png((640, 480)), "mask.png"),
        },
        ("selects no area", "all white"),
    ),
    "mask source without a mask": PictureCase(
        "inpaint",
        "a door --mask-source black",
        lambda _: {"image": Upload(png((512, 512), hole=True), "wall.png")},
        ("--mask-source black", "mask"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
async def test_bad_pictures_are_refused_privately_for_free(
    chat: Chat, stability_server: FakeStabilityServer, case: str
) -> None:
    bad = BAD_FILES[case]
    sent = await chat.run(bad.command, bad.text, files=bad.files(chat.max_input_bytes))
    expected = (*bad.expected, *bad.also.get(chat.platform, ()))
    await assert_refused_privately_for_free(chat, sent, *expected)
    assert stability_server.requests_for("/generation") == []
    await chat.assert_others_served()


async def test_a_good_mask_still_works_after_the_refusals(chat: Chat) -> None:
    """The refusals above are about the inputs, not /inpaint: the same command with a fitting mask works."""
    files = {"image": Upload(png((640, 480)), "wall.png"), "mask": Upload(mask_png(640, 480), "mask.png")}
    await chat.result("a door", command="inpaint", files=files)
    assert await chat.used() == 1


# ---------------------------------------------------------------- the image service fails

BACKEND_FAULTS: dict[str, tuple[dict[str, object], tuple[str, ...]]] = {
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
    start_chat: StartChat, stability_server: FakeStabilityServer, quick_backend: object, case: str
) -> None:
    chat = await start_chat(backend=quick_backend)
    fault, expected = BACKEND_FAULTS[case]
    stability_server.inject(**fault)  # type: ignore[arg-type]
    sent = await chat.run("imagine", "a lighthouse --n 2")
    await assert_refused_privately_for_free(chat, sent, *expected)
    await chat.assert_others_served()


async def test_quota_exceeded_says_when_in_the_readers_time_zone(start_chat: StartChat) -> None:
    chat = await start_chat(daily_quota=2)
    await chat.result("a boat --n 2")
    sent = await chat.run("imagine", "one more boat")
    reply = await assert_refused_privately_for_free(chat, sent, "0 of your 2", "Nothing was spent", used=2)
    for markup in chat.time_markup:  # each reader sees the reset time in their own time zone
        assert markup in reply, reply
    await chat.assert_others_served()


# ---------------------------------------------------------------- buttons of jobs that are gone


@pytest.mark.parametrize(
    "button_id",
    ["easel:u:doesnotexist:0", "easel:v:doesnotexist:1", "easel:r:doesnotexist", "easel:i:doesnotexist"],
)
async def test_button_of_an_unknown_job_says_it_is_gone(chat: Chat, button_id: str) -> None:
    await assert_stale_button_says_gone(chat, button_id)


async def test_buttons_of_a_deleted_result_say_it_is_gone(chat: Chat) -> None:
    """A click racing the delete (the user's client still shows the message) finds nothing to use."""
    message, job_id = await chat.result("a kite --n 2")
    await chat.delete(message, job_id)
    button_ids = [f"easel:u:{job_id}:0", f"easel:v:{job_id}:1", f"easel:r:{job_id}"]
    if chat.platform == "slack":  # on Discord the remix button opens its form first (test_discord_only)
        button_ids.append(f"easel:m:{job_id}:0")
    for button_id in button_ids:
        sent = await chat.press(message, button_id)
        await assert_refused_privately_for_free(chat, sent, "can't find that image", used=2)
    await chat.assert_others_served()


async def test_button_for_an_image_index_that_does_not_exist(chat: Chat) -> None:
    _, job_id = await chat.result("a kite")
    button_ids = [
        f"easel:u:{job_id}:7",
        f"easel:v:{job_id}:999",
        f"easel:v:{job_id}:99999999999",  # 11 digits: past every platform's integer
        f"easel:u:{job_id}:{'9' * 20}",  # the most the action pattern takes
    ]
    message = chat.stale_result(button_ids)
    for button_id in button_ids:
        sent = await chat.press(message, button_id)
        await assert_refused_privately_for_free(chat, sent, "can't find that image", used=1)
    await chat.assert_others_served()
