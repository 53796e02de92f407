"""/history and /settings through the real discord.py client and the fake Discord (issue 10, for users)."""

from __future__ import annotations

from typing import Any

from bot.discord.history import DISCORD_WEB_URL
from tests.fakes.discord import EaselOnDiscord, FakeDiscord, FakeInteraction, FakeMessage
from tests.helpers.discord_messages import ephemeral_reply, job_id_of, remaining, result_of


async def private_answer(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    """The ephemeral reply that replaced ``interaction``'s loading message (embed or text)."""

    def find() -> FakeMessage | None:
        msg = fake.messages.get(interaction.original_message_id or 0)
        if msg is not None and msg.ephemeral and not msg.loading and (msg.embeds or msg.content):
            return msg
        return None

    message: FakeMessage = await fake.wait_until(find)
    return message


def again_button(message: FakeMessage, number: int) -> str:
    for b in message.buttons():
        if b.get("label") == str(number):
            return str(b["custom_id"])
    raise AssertionError(f"no run-again button {number} in {message.buttons()}")


async def test_history_lists_my_jobs_privately_with_links_and_runs_one_again_as_asked(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    first = await result_of(fake, await fake.slash("imagine", prompt="a red lighthouse --seed 77"))
    await result_of(fake, await fake.slash("imagine", prompt="a quiet *harbour*", samples=2))
    bob = fake.add_user("bob")
    await result_of(fake, await fake.slash("imagine", prompt="bob's own boat", user=bob))

    shown = await private_answer(fake, await fake.slash("history"))
    text = shown.embeds[0]["description"]
    assert "bob's own boat" not in text
    assert text.index("quiet \\*harbour\\*") < text.index("a red lighthouse")  # newest first, escaped
    link = f"{DISCORD_WEB_URL}/channels/{fake.guild.id}/{first.channel_id}/{first.id}"
    assert f"[result]({link})" in text and "/imagine" in text and "done" in text
    assert [b["label"] for b in shown.buttons()] == ["1", "2"]
    assert all(b["custom_id"].startswith("easel:a:") for b in shown.buttons())

    calls = len(stability_server.requests_for("/generation"))
    assert await remaining(easel_on_discord, fake.user.id) == 22
    again = await result_of(fake, await fake.click(shown, again_button(shown, 2)))  # the lighthouse
    assert job_id_of(again) != job_id_of(first)
    sent = stability_server.requests_for("/generation")[calls:]
    assert len(sent) == 1 and sent[0].json["seed"] == 77  # the stored request, seed kept
    assert sent[0].json["text_prompts"][0]["text"] == "a red lighthouse"
    assert await remaining(easel_on_discord, fake.user.id) == 21  # the owner pays, as for any job
    newest = (
        (await private_answer(fake, await fake.slash("history"))).embeds[0]["description"].splitlines()[1]
    )
    assert newest.startswith("**1.** /imagine again “a red lighthouse”")
    assert fake.violations == []


async def test_someone_else_cannot_run_my_job_again_and_spends_nothing(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    await result_of(fake, await fake.slash("imagine", prompt="a private sketch"))
    shown = await private_answer(fake, await fake.slash("history"))
    bob = fake.add_user("bob")
    calls = len(stability_server.requests_for("/generation"))
    refused = await ephemeral_reply(fake, await fake.click(shown, again_button(shown, 1), user=bob))
    assert "Only the person who asked for a job can run it again" in refused.content
    assert len(stability_server.requests_for("/generation")) == calls
    assert await remaining(easel_on_discord, bob.id) == 25


async def test_a_full_history_of_long_prompts_fits_discord_limits(
    easel_on_discord_factory: Any, stability_server: Any
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(daily_quota=40)
    fake = easel.fake
    for n in range(21):
        prompt = f"job {n:02d} " + "a very long and winding description " * 40
        await result_of(fake, await fake.slash("imagine", prompt=prompt[:1900]))
    shown = await private_answer(fake, await fake.slash("history"))  # the fake refuses what Discord would
    text = shown.embeds[0]["description"]
    assert len(text) <= 4096 and text.count("[result](") == 20
    assert "job 20" in text and "job 01" in text and "job 00" not in text  # the last 20 only
    assert len(shown.components) == 4 and len(shown.buttons()) == 20
    assert fake.violations == []


async def test_settings_are_validated_stored_and_applied_when_a_command_does_not_say(
    easel_on_discord: EaselOnDiscord, stability_server: Any
) -> None:
    fake = easel_on_discord.fake
    bad = await private_answer(fake, await fake.slash("settings", style="no-such-style"))
    assert "isn't a style this backend knows" in bad.content

    saved = await private_answer(fake, await fake.slash("settings", aspect_ratio="7:4", samples=2))
    assert "Saved: --ar 7:4, --n 2." in saved.content and "style (--style): not set" in saved.content

    calls = len(stability_server.requests_for("/generation"))
    result = await result_of(fake, await fake.slash("imagine", prompt="a wide field"))
    sent = stability_server.requests_for("/generation")[calls]
    assert (sent.json["width"], sent.json["height"], sent.json["samples"]) == (1344, 768, 2)
    fields = {f["name"]: f["value"] for f in result.embeds[0]["fields"]}
    assert fields["Defaults"] == "Your defaults from /settings: --ar 7:4, --n 2"

    typed = await result_of(fake, await fake.slash("imagine", prompt="a square --ar 1:1", samples=1))
    sent = stability_server.requests_for("/generation")[-1]
    assert (sent.json["width"], sent.json["samples"]) == (1024, 1)  # what the call says wins
    assert all(f["name"] != "Defaults" for f in typed.embeds[0]["fields"])

    bob = fake.add_user("bob")
    await result_of(fake, await fake.slash("imagine", prompt="bob's field", user=bob))
    assert stability_server.requests_for("/generation")[-1].json["samples"] == 1  # defaults are personal

    cleared = await private_answer(fake, await fake.slash("settings", reset="all"))
    assert "All your defaults are forgotten." in cleared.content and "--ar): not set" in cleared.content


async def test_run_again_works_after_a_restart_and_meets_the_server_budget_like_any_job(
    easel_on_discord_factory: Any, stability_server: Any
) -> None:
    easel: EaselOnDiscord = await easel_on_discord_factory(server_daily_units=3)
    fake = easel.fake
    await result_of(fake, await fake.slash("imagine", prompt="a kite", samples=2))
    shown = await private_answer(fake, await fake.slash("history"))
    await easel.restart()  # new client, new JobService, same data dir: the button still works

    calls = len(stability_server.requests_for("/generation"))
    refused = await ephemeral_reply(fake, await fake.click(shown, again_button(shown, 1)))
    assert "This server's daily budget has 1 of 3 units left and this request needs 2." in refused.content
    assert len(stability_server.requests_for("/generation")) == calls  # refused before anything was spent
    assert await remaining(easel, fake.user.id) == 23
