"""Hostile input that only exists on Discord: typed option values a modified client sends outside the
synced schema, the remix form of a job that is gone, ``custom_id`` forms no button template matches,
and long text shaped to make Markdown escaping backtrack (which once held the gateway 41 s behind).

Same checks as ``test_hostile.py``: a polite private reply, nothing spent, the next user served.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.fakes.discord import APPLICATION_COMMAND, EaselOnDiscord, FakeDiscord, FakeInteraction
from tests.helpers.chat import DiscordChat, assert_refused_privately_for_free
from tests.helpers.discord_messages import result_of
from tests.helpers.loop_stalls import LoopStalls


@pytest.fixture
def chat(easel_on_discord: EaselOnDiscord) -> DiscordChat:
    return DiscordChat(easel_on_discord)


def forged_slash(fake: FakeDiscord, name: str, **options: Any) -> FakeInteraction:
    """A slash command as a modified client (or one holding a stale command list) sends it:
    typed values outside the synced ``min_value``/``max_value``/``choices``."""
    command = fake.find_command(name)
    schema = {o["name"]: o for o in command.get("options", [])}
    data: dict[str, Any] = {
        "id": command["id"],
        "name": name,
        "type": 1,
        "options": [{"name": k, "type": schema[k]["type"], "value": v} for k, v in options.items()],
    }
    if command.get("guild_id"):
        data["guild_id"] = command["guild_id"]
    return fake.interaction_payload(APPLICATION_COMMAND, data)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"samples": 50}, ("samples", "between 1 and 10", "50")),
        ({"samples": 0}, ("samples", "between 1 and 10")),
        ({"seed": -3}, ("seed", "-3")),
        ({"aspect_ratio": "99:1"}, ("99:1",)),
    ],
    ids=["samples 50", "samples 0", "negative seed", "ratio not offered"],
)
async def test_typed_values_outside_the_schema_get_the_specific_message(
    chat: DiscordChat, options: dict[str, Any], expected: tuple[str, ...]
) -> None:
    interaction = forged_slash(chat.fake, "imagine", prompt="a cat", **options)
    await chat.fake.send_interaction(interaction)
    await assert_refused_privately_for_free(chat, interaction, *expected)
    await chat.assert_others_served()


async def test_remix_form_of_an_unknown_job_says_it_is_gone(chat: DiscordChat) -> None:
    message = chat.stale_result(["easel:m:doesnotexist:0"])
    opened = await chat.press(message, "easel:m:doesnotexist:0")
    await chat.fake.wait_until(lambda: opened.modal is not None)
    submit = await chat.fake.submit_modal(opened, {"prompt": "again"})
    await assert_refused_privately_for_free(chat, submit, "can't find that image")
    await chat.assert_others_served()


@pytest.mark.parametrize(
    "custom_id",
    ["easel:x:abc", "easel:u:" + "a" * 70 + ":0", "easel:u:abc:one", "easel:mm:abc:0"],
    ids=["unknown verb", "job id too long", "index not a number", "modal id on a button"],
)
async def test_button_no_template_matches_is_answered(chat: DiscordChat, custom_id: str) -> None:
    """An ``easel:`` button of an older version (or a forged one) gets a word, not "interaction failed"."""
    message = chat.stale_result([custom_id])
    click = await chat.press(message, custom_id)
    await assert_refused_privately_for_free(chat, click, "don't recognise that button")
    assert click.ack_type == 4 and click.ack_delay is not None and click.ack_delay < 3.0
    await chat.assert_others_served()


# Discord's markdown link rule as discord.py escapes it (``\\[.+\\]\\(.+\\)``) backtracks cubically on
# "[](" repeated: 6,000 characters (Discord's longest option) once held the event loop for 14 s.
BRACKETS = "[](" * 1333


@pytest.mark.parametrize(
    "text",
    ["a cat --" + "x" * 5000, "a cat --" + BRACKETS, BRACKETS * 2, "a cat --ar " + BRACKETS],
    ids=["5,000-character unknown flag", "bracket flag", "6,000-character bracket prompt", "bracket ratio"],
)
async def test_long_odd_text_is_answered_at_once_and_fits(chat: DiscordChat, text: str) -> None:
    async with LoopStalls() as stalls:
        started = time.monotonic()
        sent = await chat.run("imagine", text[:6000])  # Discord's own cap on a string option
        reply = await assert_refused_privately_for_free(chat, sent)
        answered_s = time.monotonic() - started
    assert answered_s < 3.0 and stalls.longest_s < 1.0, (answered_s, stalls.longest_s)
    assert len(reply) <= 2000 and BRACKETS[:60] not in reply and "x" * 60 not in reply
    await chat.assert_others_served()


async def test_long_markdown_like_prompt_is_posted_without_stalling_the_gateway(
    easel_on_discord_factory: Callable[..., Awaitable[EaselOnDiscord]],
) -> None:
    """A valid 4,000-character prompt (Stability's stable-image models take 10,000) shown in the result's
    embed: escaped in linear time, cut to Discord's 4,096-character description with its escapes whole."""
    chat = DiscordChat(await easel_on_discord_factory(stability_model="core"))
    async with LoopStalls() as stalls:
        message = await result_of(chat.fake, await chat.run("imagine", BRACKETS), timeout_s=30)
    assert stalls.longest_s < 1.0, stalls.longest_s
    [embed] = message.embeds
    description = embed["description"]
    assert 3000 < len(description) <= 4096
    assert description.startswith("\\[\\](\\[\\](") and description.endswith("…")
    assert chat.fake.violations == []
    await chat.assert_others_served()
