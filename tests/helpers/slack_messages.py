"""What easel posted on the fake Slack: result cards with their images, and the images' watermark check.

A result is the uploaded images (one files message) and, right after it in the same channel and
thread, the card (``chat.postMessage``) with the summary and the buttons::

    [result] = await wait_for_results(slack)
    result.summary          # the card's first section
    result.action_ids       # every button's action_id
    result.files            # the job's images, as the fake stores them
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass

from PIL import Image

from tests.fakes.slack import FakeSlack, SlackCall, SlackEasel, StoredFile, StoredMessage

_DELETE_RE = re.compile(r"^easel:d:(?P<job>[0-9A-Za-z_-]+)$")
_FILE_RE = re.compile(r"^easel-([0-9a-f]+)-(\d+)\.png$")


def job_of(file: StoredFile) -> tuple[str, int]:
    m = _FILE_RE.match(file.name)
    assert m, file.name
    return m.group(1), int(m.group(2)) - 1


def _images_of(slack: FakeSlack, job: str) -> tuple[StoredFile, ...]:
    mine = [f for f in slack.files.values() if f.completed and _FILE_RE.match(f.name) and job_of(f)[0] == job]
    return tuple(sorted(mine, key=lambda f: job_of(f)[1]))


def action_ids(message: StoredMessage) -> list[str]:
    return [
        str(el.get("action_id"))
        for b in message.blocks
        if b.get("type") == "actions"
        for el in b.get("elements", [])
    ]


def card_job(message: StoredMessage) -> str | None:
    """The job of a result card (the message whose Delete button names it), else None."""
    for action_id in action_ids(message):
        if m := _DELETE_RE.match(action_id):
            return m["job"]
    return None


@dataclass(frozen=True)
class PostedResult:
    card: StoredMessage
    files: tuple[StoredFile, ...]
    job_id: str

    @property
    def summary(self) -> str:
        return str(self.card.blocks[0]["text"]["text"])

    @property
    def action_ids(self) -> list[str]:
        return action_ids(self.card)

    def button(self, action_id: str) -> dict[str, object]:
        return next(
            el
            for b in self.card.blocks
            if b["type"] == "actions"
            for el in b["elements"]
            if el["action_id"] == action_id
        )


def posted_results(slack: FakeSlack, channel: str | None = None) -> list[PostedResult]:
    """The result cards easel posted that are still up, oldest first, each with its job's images.

    Checks what people would see: the images were shared in the card's channel and thread, just
    before the card, and the card's Delete button lists exactly those files.
    """
    posted = {(c.response["channel"], c.response["ts"]) for c in slack.calls_to("chat.postMessage") if c.ok}
    results = []
    for (ch, ts), card in sorted(slack.messages.items(), key=lambda kv: float(kv[0][1])):
        job = card_job(card)
        if card.deleted or job is None or (ch, ts) not in posted or (channel is not None and ch != channel):
            continue
        files = _images_of(slack, job)
        for f in files:
            assert f.channels == [ch] and f.thread_ts == card.thread_ts, (f.id, f.channels, card.ts)
            assert float(f.shares[ch]) < float(ts)  # the images come first, the card right after
        delete = PostedResult(card, files, job).button(f"easel:d:{job}")
        assert str(delete.get("value", "")).split(",") == [f.id for f in files]
        results.append(PostedResult(card, files, job))
    return results


def is_result_card(call: SlackCall) -> bool:
    return call.method == "chat.postMessage" and "easel:d:" in json.dumps(call.params.get("blocks"))


async def wait_for_results(
    slack: FakeSlack, count: int = 1, *, timeout_s: float = 10.0
) -> list[PostedResult]:
    """Wait until ``count`` result cards were posted; all results still up, oldest first."""
    await slack.wait_for("chat.postMessage", count, where=is_result_card, timeout_s=timeout_s)
    return posted_results(slack)


def result_cards_posted(slack: FakeSlack) -> int:
    return len([c for c in slack.calls_to("chat.postMessage") if c.ok and is_result_card(c)])


async def assert_watermarked_copy_of_original(easel: SlackEasel, file: StoredFile) -> Image.Image:
    """The posted file is a PNG equal to the stored clean original with both marks stamped on."""
    job_id, index = job_of(file)
    posted = Image.open(io.BytesIO(file.data))
    posted.load()
    assert posted.format == "PNG"
    original = await easel.services.jobs.load_original(job_id, index)
    stamped = Image.open(io.BytesIO(easel.services.watermarker.stamp_png(original.png, job_id=job_id)))
    clean = Image.open(io.BytesIO(original.png))
    assert posted.size == clean.size
    assert posted.convert("RGB").tobytes() == stamped.convert("RGB").tobytes()
    assert posted.convert("RGB").tobytes() != clean.convert("RGB").tobytes()
    return posted
