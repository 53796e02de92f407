"""Input images of waiting jobs stay on disk: a queued job holds their references, not their bytes.

Usage::

    job.park_inputs(refs)                                   # once the images are in the store
    job.request = await with_inputs(job.request, refs, store)   # when a worker starts the job

A 4 MB upload waiting behind a long queue would otherwise stay in RAM for as long as the job
waits, though the store already has it (issue 15). The bytes are read back, and checked
against their sha256, only when a worker needs them; an image that vanished meanwhile fails
the job with the store's :class:`~services.errors.JobNotFound` (refunded, the user told why).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from services.jobs.codec import IMAGE_FIELDS
from services.store import ImageRef, ImageStore
from services.types import GenerationRequest

__all__ = ["with_inputs", "without_inputs"]


def without_inputs(request: GenerationRequest) -> GenerationRequest:
    """``request`` with no input image bytes (the job keeps their references)."""
    if request.init_image is None and request.mask_image is None:
        return request
    return dataclasses.replace(request, init_image=None, mask_image=None)


async def with_inputs(
    request: GenerationRequest, refs: Mapping[str, ImageRef], store: ImageStore
) -> GenerationRequest:
    """``request`` with its input images read back from ``store`` (``JobNotFound`` if one is gone)."""
    if not refs:
        return request
    unknown = set(refs) - set(IMAGE_FIELDS)
    if unknown:
        raise ValueError(f"not input image fields: {sorted(unknown)}")
    images = {name: await store.load_input(ref) for name, ref in refs.items()}
    return dataclasses.replace(
        request,
        init_image=images.get("init_image", request.init_image),
        mask_image=images.get("mask_image", request.mask_image),
    )
