"""What easel posted on the fake Slack: the job behind a posted file, and the file's watermark check."""

from __future__ import annotations

import io
import re

from PIL import Image

from tests.fakes.slack import SlackEasel, StoredFile


def job_of(file: StoredFile) -> tuple[str, int]:
    m = re.match(r"^easel-([0-9a-f]+)-(\d+)\.png$", file.name)
    assert m, file.name
    return m.group(1), int(m.group(2)) - 1


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
