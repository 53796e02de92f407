"""From a backend's result to what the front end posts: store the originals, stamp the copies.

Usage::

    publishing = Publishing(store=store, watermarker=Watermarker("AI generated"), records=records)
    outcome = await publishing.publish(job_id, request, requester, result)  # row -> 'delivering'
    outcome = await publishing.republish(record)   # after a crash, or a late wait(): from the store

Clean originals, stamped copies: the store keeps what the backend returned (plus the A1111
``parameters`` text chunk, :mod:`services.provenance.parameters`) and the marks, visible and
invisible (instance + job id), go only on the published copy, so a later upscale never upscales
them. With content credentials on, the original and the published PNG are signed here, and each
published image carries ``recredential`` so that upload fitting signs whatever it re-encodes
*after* its final encode (:mod:`services.encoding`): the manifest on what is posted stays valid.
If any image fails to store or stamp, none of the job's originals are kept (the user
never saw them, so nothing may be built on them). The row is marked ``delivering`` once the
originals are stored, while the copies are still being stamped: a crash from then on costs a
re-post, never a second generation. Republishing reads the originals
back and stamps them again; the backend is not called, nor charged, twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Protocol

from services.errors import BackendError, ContentFiltered, JobNotFound
from services.jobs.records import JobRecord, JobRecords
from services.provenance.parameters import parameters_text, with_parameters
from services.store import ImageStore, StoredImage
from services.types import (
    FinishReason,
    GeneratedImage,
    GenerationRequest,
    GenerationResult,
    JobOutcome,
    PublishedImage,
    Recredential,
    Requester,
)

__all__ = ["Publisher", "Publishing"]


class Publisher(Protocol):
    """Makes the published copy of a clean original (``services.watermark.Watermarker``)."""

    async def publish(
        self, png: bytes, *, job_id: str | None = None, model: str = "", prompt: str = ""
    ) -> bytes: ...

    async def credit_original(self, png: bytes, *, model: str, prompt: str) -> bytes: ...

    def recredential(self, *, model: str, prompt: str) -> Recredential | None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Publishing:
    """See the module docstring."""

    store: ImageStore
    watermarker: Publisher
    records: JobRecords

    async def publish(
        self, job_id: str, request: GenerationRequest, requester: Requester, result: GenerationResult
    ) -> JobOutcome:
        """Store clean originals, stamp the published copies, record what is about to be delivered."""
        success = [
            (i, img) for i, img in enumerate(result.images) if img.finish_reason is FinishReason.SUCCESS
        ]
        filtered = sum(1 for img in result.images if img.finish_reason is FinishReason.CONTENT_FILTERED)
        if not success and result.text is None:
            if filtered:
                raise ContentFiltered(log_detail=f"all {filtered} images content-filtered")
            raise BackendError(log_detail=f"backend returned {len(result.images)} images, none usable")
        # Stamping (CPU) starts at once; the row turns 'delivering' as soon as the originals are
        # stored, before the stamps are done, so a restart from then on re-posts from the store
        # instead of generating again.
        stamps = [
            asyncio.ensure_future(self._stamp(job_id, i, img, request, result.model)) for i, img in success
        ]
        stamped: list[PublishedImage | BaseException] = []
        try:
            saved = await asyncio.gather(
                *(self._save_one(job_id, i, img, request, result.model) for i, img in success),
                return_exceptions=True,
            )
            failures = [r for r in saved if isinstance(r, BaseException)]
            if not failures:
                await self.records.mark_delivering(
                    job_id,
                    backend=result.backend,
                    model=result.model,
                    n_filtered=filtered,
                    seeds=[img.seed for _, img in success],
                    text=result.text,
                )
                stamped = await asyncio.gather(*stamps, return_exceptions=True)
                failures = [r for r in stamped if isinstance(r, BaseException)]
        finally:
            for stamp in stamps:
                stamp.cancel()
            await asyncio.gather(*stamps, return_exceptions=True)
        if failures:  # every sibling has finished writing: keep no originals of an unseen job
            await self.store.delete_job_images(job_id)
            raise failures[0]
        published = [r for r in stamped if not isinstance(r, BaseException)]
        return _outcome(job_id, request, requester, tuple(published), result, filtered)

    async def republish(self, record: JobRecord) -> JobOutcome:
        """Re-publish a job's stored originals (redelivery after a crash, late wait())."""
        stored = [
            s
            for s in await self.store.list_originals(record.job_id)
            if s.finish_reason is FinishReason.SUCCESS
        ]
        if record.request is None or (not stored and record.text is None):
            raise JobNotFound(log_detail=f"no stored originals for {record.job_id}")

        model = record.model or ""
        prompt = record.request.positive_prompt
        recredential = self.watermarker.recredential(model=model, prompt=prompt)

        async def again(info: StoredImage) -> PublishedImage:
            original = await self.store.load_original(record.job_id, info.index)
            stamped = await self.watermarker.publish(
                original.png, job_id=record.job_id, model=model, prompt=prompt
            )
            return _published(
                record.job_id, info.index, stamped, info.seed, info.width, info.height, recredential
            )

        published = await asyncio.gather(*(again(info) for info in stored))
        result = GenerationResult(
            images=(),
            backend=record.backend or "",
            model=record.model or "",
            text=record.text,
            fallback_from=_fallback_from(record),
        )
        return _outcome(
            record.job_id, record.request, record.requester, tuple(published), result, record.n_filtered
        )

    async def discard(self, job_id: str) -> None:
        """Drop the stored originals of ``job_id`` (an interrupted attempt, before it runs again)."""
        await self.store.delete_job_images(job_id)

    async def _save_one(
        self, job_id: str, index: int, image: GeneratedImage, request: GenerationRequest, model: str
    ) -> None:
        """Store the clean original with its A1111 parameters and content credentials."""
        text = parameters_text(request, seed=image.seed, model=model, width=image.width, height=image.height)
        credited = await self.watermarker.credit_original(
            with_parameters(image.png, text), model=model, prompt=request.positive_prompt
        )
        await self.store.save_original(job_id, index, replace(image, png=credited))

    async def _stamp(
        self, job_id: str, index: int, image: GeneratedImage, request: GenerationRequest, model: str
    ) -> PublishedImage:
        stamped = await self.watermarker.publish(
            image.png, job_id=job_id, model=model, prompt=request.positive_prompt
        )
        recredential = self.watermarker.recredential(model=model, prompt=request.positive_prompt)
        return _published(job_id, index, stamped, image.seed, image.width, image.height, recredential)


def _published(
    job_id: str,
    index: int,
    data: bytes,
    seed: int,
    width: int,
    height: int,
    recredential: Recredential | None,
) -> PublishedImage:
    return PublishedImage(
        index=index,
        data=data,
        filename=f"easel-{job_id[:8]}-{index + 1}.png",
        content_type="image/png",
        seed=seed,
        width=width,
        height=height,
        recredential=recredential,
    )


def _fallback_from(record: JobRecord) -> str | None:
    """The model the job asked for when another one made its pictures ("made by X — Y was unavailable").

    No column of its own: the stored request names the model that was asked for (``--model`` or the
    command's default, resolved before the job was queued), the row the model that delivered. They
    differ only after a failover: the router reports its offer's name, and a single backend reports
    the model it was asked for.
    """
    asked = record.request.model if record.request is not None else None
    return asked if asked and record.model and asked != record.model else None


def _outcome(
    job_id: str,
    request: GenerationRequest,
    requester: Requester,
    images: tuple[PublishedImage, ...],
    result: GenerationResult,
    filtered: int,
) -> JobOutcome:
    return JobOutcome(
        job_id=job_id,
        request=request,
        requester=requester,
        images=images,
        backend=result.backend,
        model=result.model,
        filtered=filtered,
        text=result.text,
        metadata={"operation": request.operation.value},
        fallback_from=result.fallback_from,
        usage_tokens=result.usage_tokens,
    )
