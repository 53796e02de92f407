"""Running a job's v2beta calls: one request per image, all at once, keeping what succeeded.

``samples=3`` sends three requests together, each paced by the shared
:mod:`~services.backends.rate_limit` limiter. Filtered images come back empty and failed
ones are logged; only when no image succeeded does the job fail (with the first error,
or :class:`ContentFiltered` when every image was filtered).
"""

from __future__ import annotations

import asyncio
import logging

from services.backends.base import ProgressCallback
from services.backends.stability.http import StabilityHttp
from services.backends.stability.progress import report_progress
from services.backends.stability.v2_answers import image_from
from services.backends.stability.v2_call import V2Call
from services.errors import ContentFiltered, EaselError
from services.types import FinishReason, GeneratedImage, Progress

__all__ = ["run_samples", "send"]

log = logging.getLogger(__name__)


async def run_samples(
    http: StabilityHttp, calls: list[V2Call], progress: ProgressCallback | None
) -> tuple[GeneratedImage, ...]:
    """Send every call at once (the limiter paces them); keep what succeeded."""
    total = len(calls)
    done = 0
    await report_progress(progress, Progress(fraction=0.0, message="Sent to Stability AI"))

    async def one(call: V2Call) -> GeneratedImage:
        nonlocal done
        try:
            return await send(http, call)
        finally:
            done += 1
            if done < total:
                await report_progress(
                    progress, Progress(fraction=done / total, message=f"{done} of {total} images ready")
                )

    outcomes = await asyncio.gather(*(one(c) for c in calls), return_exceptions=True)
    images: list[GeneratedImage] = []
    errors: list[EaselError] = []
    for call, outcome in zip(calls, outcomes, strict=True):
        if isinstance(outcome, GeneratedImage):
            images.append(outcome)
            continue
        if isinstance(outcome, ContentFiltered):
            images.append(call.empty(FinishReason.CONTENT_FILTERED))
        elif isinstance(outcome, EaselError):
            errors.append(outcome)
            images.append(call.empty(FinishReason.ERROR))
        else:
            raise outcome  # a bug, or cancellation: not something to hide
    if not any(i.finish_reason is FinishReason.SUCCESS for i in images):
        if errors:
            raise errors[0]
        raise ContentFiltered(log_detail=f"{calls[0].operation}: all {total} image(s) content-filtered")
    for error in errors:
        log.warning(
            "stability.sample_failed",
            extra={
                "operation": calls[0].operation,
                "error_kind": type(error).__name__,
                "detail": error.log_detail,
            },
        )
    await report_progress(progress, Progress(fraction=1.0, message="Done"))
    return tuple(images)


async def send(http: StabilityHttp, call: V2Call) -> GeneratedImage:
    """One call, retried by the shared policy; its image, or the mapped error."""
    reply = await http.exchange(call.operation, "POST", call.path, form=call.form, accept="image/*")
    if reply.status != 200:
        raise http.error_for(reply, call.operation)
    return await image_from(reply, call)
