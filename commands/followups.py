"""Requests that start from a stored result: the buttons under it and the remix form.

Each reads the job (and, where it needs one, the clean stored original, never the watermarked
post) from a :class:`JobReader` and builds the request through the command it stands for, so a
follow-up is validated and priced like the same command typed by hand::

    request = await followup(jobs, decode("easel:v:6f1c…:2"), limits)     # vary image 3
    request = await remix(jobs, "6f1c…", 0, prompt="as ink", strength="0.4", image="2", limits=limits)

Raises :class:`~services.errors.JobNotFound` when the job, its inputs or that image are gone
(deleted, forged index) and :class:`~services.errors.InvalidRequest` for bad form values.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from commands import COMMANDS, Invocation
from commands.actions import Action, Verb
from commands.prompts import prompt_text
from commands.remix import VARY_STRENGTH
from services.backends.base import BackendLimits
from services.errors import InvalidRequest, JobNotFound
from services.types import GenerationRequest, InputImage, SourceRef

if TYPE_CHECKING:
    from services.jobs import JobRecord

__all__ = [
    "JobReader",
    "followup",
    "image_number",
    "imagine_this",
    "load_source",
    "remix",
    "reroll",
    "stored_request",
    "upscale",
    "vary",
]


class JobReader(Protocol):
    """What follow-ups read (``services.jobs.JobService`` is one)."""

    async def get_job(self, job_id: str) -> JobRecord: ...

    async def load_original(self, job_id: str, index: int) -> InputImage: ...


async def stored_request(jobs: JobReader, job_id: str, index: int | None = None) -> GenerationRequest:
    """The request a job was made with; ``JobNotFound`` once it is deleted or its inputs are gone.

    With ``index``, also when the job never had that image (a forged or stale button): checked
    against the row alone, so a form is not opened for a picture that is not there, at no cost.
    """
    record = await jobs.get_job(job_id)
    if record.deleted or record.request is None:
        raise JobNotFound(log_detail=f"job {job_id} deleted or without its inputs")
    if index is not None and not 0 <= index < max(record.n_requested, record.n_delivered):
        raise JobNotFound(log_detail=f"job {job_id} has no image {index}")
    return record.request


async def load_source(jobs: JobReader, job_id: str, index: int) -> tuple[InputImage, SourceRef]:
    """The clean stored original of image ``index`` and its reference (``JobNotFound`` if gone)."""
    return await jobs.load_original(job_id, index), SourceRef(job_id, index)


async def upscale(jobs: JobReader, job_id: str, index: int, limits: BackendLimits) -> GenerationRequest:
    await stored_request(jobs, job_id)
    image, ref = await load_source(jobs, job_id, index)
    return await COMMANDS["upscale"].build(Invocation(source_image=image, source=ref), limits)


async def vary(jobs: JobReader, job_id: str, index: int, limits: BackendLimits) -> GenerationRequest:
    """A close variation of image ``index``: same prompt and style, :data:`VARY_STRENGTH`."""
    request = await stored_request(jobs, job_id)
    image, ref = await load_source(jobs, job_id, index)
    options: dict[str, object] = {"strength": VARY_STRENGTH}
    if request.style_preset:
        options["style"] = request.style_preset
    inv = Invocation(text=prompt_text(request), options=options, source_image=image, source=ref)
    return await COMMANDS["remix"].build(inv, limits)


async def reroll(jobs: JobReader, job_id: str, limits: BackendLimits) -> GenerationRequest:
    """The same request with a new seed (it was validated when it was made), if still available."""
    request = await stored_request(jobs, job_id)
    spec = next((c for c in COMMANDS.values() if c.operation is request.operation), None)
    if spec is not None:
        spec.check_available(limits)
    return replace(request, seed=None)


async def imagine_this(jobs: JobReader, job_id: str, limits: BackendLimits) -> GenerationRequest:
    """/imagine the stored text of a /describe result (read from the job, never from the message)."""
    record = await jobs.get_job(job_id)
    if record.deleted:
        raise JobNotFound(log_detail=f"job {job_id} deleted")
    text = (record.text or "").strip()
    if not text:
        raise JobNotFound("That description is gone, so I can't imagine it.")
    return await COMMANDS["imagine"].build(Invocation(text=text[: int(limits.max_prompt_chars)]), limits)


async def followup(jobs: JobReader, action: Action, limits: BackendLimits) -> GenerationRequest:
    """The request of a button that starts a job (upscale, vary, reroll, imagine this)."""
    if action.verb is Verb.UPSCALE:
        return await upscale(jobs, action.job_id, action.image, limits)
    if action.verb is Verb.VARY:
        return await vary(jobs, action.job_id, action.image, limits)
    if action.verb is Verb.REROLL:
        return await reroll(jobs, action.job_id, limits)
    if action.verb is Verb.IMAGINE_THIS:
        return await imagine_this(jobs, action.job_id, limits)
    raise ValueError(f"{action.verb!r} does not start a job by itself")


def image_number(text: str, default: int) -> int:
    """The 0-based image of a form's "which image" field (1-based, may be blank)."""
    if not text.strip():
        return default
    try:
        index = int(text.strip()) - 1
    except ValueError:
        raise InvalidRequest("“Which image” needs a number, like 1.") from None
    if index < 0:
        raise InvalidRequest("“Which image” needs a number from 1 up.")
    return index


async def remix(
    jobs: JobReader,
    job_id: str,
    index: int,
    *,
    prompt: str,
    strength: str = "",
    limits: BackendLimits,
    options: dict[str, object] | None = None,
) -> GenerationRequest:
    """The remix form's submit: a new prompt (flags allowed) on image ``index`` of the job."""
    record = await jobs.get_job(job_id)
    if record.deleted:
        raise JobNotFound(log_detail=f"job {job_id} deleted")
    image, ref = await load_source(jobs, job_id, index)
    chosen: dict[str, object] = dict(options or {})
    if strength.strip():
        chosen["strength"] = strength.strip()
    inv = Invocation(text=prompt, options=chosen, source_image=image, source=ref)
    return await COMMANDS["remix"].build(inv, limits)
