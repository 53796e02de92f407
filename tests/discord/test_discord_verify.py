"""/verify on Discord: an ephemeral answer about a result, a screenshot of it, and bad uploads."""

from __future__ import annotations

from tests.fakes.discord import EaselOnDiscord
from tests.fakes.discord.records import FakeUser
from tests.helpers.discord_messages import ephemeral_reply, job_id_of, result_of
from tests.helpers.images import png, screenshot_of


async def test_verify_tells_the_requester_about_a_screenshot_of_their_result(
    easel_on_discord: EaselOnDiscord,
) -> None:
    fake = easel_on_discord.fake
    made = await result_of(fake, await fake.slash("imagine", prompt="a lighthouse"))
    job_id = job_id_of(made)
    shot = screenshot_of(made.files[0].data, scale=0.75, margin=15)

    asked = await fake.slash("verify", image=(shot, "shot.jpg", "image/jpeg"))
    reply = await ephemeral_reply(fake, asked)
    instance = easel_on_discord.services.watermarker.instance_id
    assert f"easel mark found: made by this bot (instance {instance}, job {job_id[:12]})." in reply.content
    assert "by /imagine" in reply.content
    assert f"discord:{fake.user.id}" in reply.content  # the requester may know it was them

    stranger = FakeUser(id=4242, username="stranger")
    theirs = await ephemeral_reply(
        fake, await fake.slash("verify", user=stranger, image=(shot, "s.jpg", "image/jpeg"))
    )
    assert "easel mark found" in theirs.content and "Asked by" not in theirs.content


async def test_verify_says_plainly_when_there_is_no_mark_or_no_picture(
    easel_on_discord: EaselOnDiscord,
) -> None:
    fake = easel_on_discord.fake
    plain = await ephemeral_reply(
        fake, await fake.slash("verify", image=(png((600, 400)), "p.png", "image/png"))
    )
    assert plain.content == "No easel mark found."

    fake_png = await fake.slash("verify", image=(b"just some text", "notes.png", "image/png"))
    assert "PNG, JPEG or WebP" in (await ephemeral_reply(fake, fake_png)).content

    declared = await fake.slash("verify", image=(b"%PDF-1.7", "doc.pdf", "application/pdf"))
    assert "application/pdf" in (await ephemeral_reply(fake, declared)).content
    assert not [m for m in fake.messages.values() if not m.ephemeral and m.interaction_id == declared.id]
