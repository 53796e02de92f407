"""Posting a job's images within a platform's upload limit, in as many messages as it takes.

The images are encoded to fit ``limit`` (bytes per message, and per file), grouped into messages
of at most ``max_files``, and posted in order. When the platform still refuses a message as too
large (its own count differs from ours), that part is re-encoded for half of what it refused and
posted again, down to a floor where any picture fits. Every re-encoded file is signed again with
the job's content credentials (``PublishedImage.recredential``) after its final encode::

    async def post(part: UploadPart) -> None:
        ...  # raise UploadTooLarge on HTTP 413
    messages = await post_within(outcome.images, limit, post, max_files=10, job_id=job_id)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.encoding import EncodedFile, fit_upload, split_batches
from services.types import PublishedImage

__all__ = ["MIN_BUDGET_BYTES", "UploadPart", "UploadTooLarge", "post_within"]

log = logging.getLogger(__name__)

MIN_BUDGET_BYTES = 16 * 1024  # fit_upload can always get a picture under this (down-scaled JPEG)


class UploadTooLarge(Exception):
    """The platform refused a message's files as too large (HTTP 413)."""


@dataclass(frozen=True, slots=True)
class UploadPart:
    """One message: its images (for buttons and file names), their encoded files, ``number`` of ``count``."""

    images: tuple[PublishedImage, ...]
    files: list[EncodedFile]
    number: int
    count: int


async def post_within(
    images: Sequence[PublishedImage],
    limit: int,
    post: Callable[[UploadPart], Awaitable[None]],
    *,
    max_files: int,
    job_id: str,
) -> int:
    """Post every image; returns how many messages it took. Raises what ``post`` raises, and
    :class:`UploadTooLarge` only once even the floor was refused."""
    encoded = await fit_upload(
        [i.data for i in images], limit, max_file_bytes=limit, recredentials=[i.recredential for i in images]
    )
    groups = split_batches(encoded, limit, max_files=max_files)
    start = 0
    for number, files in enumerate(groups, 1):
        part = UploadPart(tuple(images[start : start + len(files)]), files, number, len(groups))
        start += len(files)
        budget = limit
        while True:
            try:
                await post(part)
                break
            except UploadTooLarge:
                budget = min(budget, sum(f.size for f in part.files)) // 2
                if budget < MIN_BUDGET_BYTES:
                    raise
                log.warning("upload.too_large", extra={"job_id": job_id, "budget_bytes": budget})
                refit = await fit_upload(
                    [i.data for i in part.images],
                    budget,
                    max_file_bytes=budget,
                    recredentials=[i.recredential for i in part.images],
                )
                part = UploadPart(part.images, refit, number, len(groups))
    return len(groups)
