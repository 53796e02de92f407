"""What easel posted on the fake Discord: find the result or private reply of an interaction, check it.

These read the fake's state (messages, calls) and easel's services (quota, stored originals); they
never touch easel's front-end objects.
"""

from __future__ import annotations

from PIL import Image, ImageChops

from services.types import Requester
from tests.fakes.discord import EaselOnDiscord, FakeDiscord, FakeInteraction, FakeMessage
from tests.helpers.images import decode as load_picture

CALLBACK = "/interactions/{id}/{token}/callback"


def decode(data: bytes) -> Image.Image:
    """A posted or stored picture as RGB (Discord results are compared pixel by pixel)."""
    return load_picture(data).convert("RGB")


async def result_of(
    fake: FakeDiscord, interaction: FakeInteraction, *, timeout_s: float = 10.0
) -> FakeMessage:
    """The visible message with images that answered ``interaction`` (or replied to its reply)."""

    def answers(msg: FakeMessage) -> bool:
        if msg.interaction_id == interaction.id:
            return True
        ref = msg.message_reference or {}
        return bool(ref) and int(ref["message_id"]) == interaction.original_message_id

    def find() -> FakeMessage | None:
        for msg in fake.messages.values():
            if answers(msg) and msg.files and not msg.deleted and not msg.ephemeral:
                return msg
        return None

    message: FakeMessage = await fake.wait_until(find, timeout_s=timeout_s)
    return message


async def ephemeral_reply(fake: FakeDiscord, interaction: FakeInteraction) -> FakeMessage:
    def find() -> FakeMessage | None:
        for msg in fake.messages.values():
            if msg.interaction_id == interaction.id and msg.ephemeral and msg.content and not msg.loading:
                return msg
        return None

    message: FakeMessage = await fake.wait_until(find)
    return message


async def assert_watermarked(easel: EaselOnDiscord, message: FakeMessage, job_id: str) -> None:
    """Each posted image is the stored clean original plus the visible mark in the bottom-right corner
    and the invisible mark for ``job_id`` (which leaves the rest within a few grey levels)."""
    for index, upload in enumerate(message.files):
        posted = decode(upload.data)
        clean_png = (await easel.services.jobs.load_original(job_id, index)).png
        original = decode(clean_png)
        assert posted.size == original.size
        assert posted.tobytes() == decode(easel.services.watermarker.stamp_png(clean_png, job_id)).tobytes()
        w, h = posted.size
        corner = (int(w * 0.6), int(h * 0.8), w, h)
        assert posted.crop(corner).tobytes() != original.crop(corner).tobytes(), "no watermark"
        top_left = (0, 0, w // 3, h // 3)
        spread = ImageChops.difference(posted.crop(top_left), original.crop(top_left)).getextrema()
        assert max(hi for _, hi in spread) <= 8, "more than the invisible mark changed"


def job_id_of(message: FakeMessage) -> str:
    ids = {cid.split(":")[2] for cid in message.custom_ids() if cid.startswith("easel:")}
    assert len(ids) == 1, ids
    return ids.pop()


def assert_no_pings(fake: FakeDiscord) -> None:
    sent = fake.messages_sent()
    assert sent
    for message in sent:
        assert message.allowed_mentions is not None, message.history
        assert message.allowed_mentions.get("parse") == [], message.allowed_mentions
        assert not message.pings, (message.content, message.pings)
    for call in fake.calls:
        if call.method in ("POST", "PATCH") and isinstance(call.json, dict) and "content" in call.json:
            assert call.json.get("allowed_mentions", {}).get("parse") == [], call.route


async def remaining(easel: EaselOnDiscord, user_id: int) -> int:
    status = await easel.services.jobs.quota_status(Requester("discord", str(user_id)))
    return int(status.remaining)
