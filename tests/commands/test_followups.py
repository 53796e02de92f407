"""Follow-ups from a stored result and intake, against a real JobService on the fake backend."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from commands.actions import Action, Verb
from commands.followups import followup, image_number, remix, reroll, stored_request
from commands.remix import VARY_STRENGTH
from services.backends.base import BackendLimits, ProgressCallback
from services.db import Database
from services.errors import (
    EaselError,
    InvalidRequest,
    JobNotFound,
    NotAllowed,
    QuotaExceeded,
    UnsupportedOption,
)
from services.intake import Intake, Refused, Submitted
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.types import (
    GenerationRequest,
    GenerationResult,
    JobOutcome,
    Operation,
    Progress,
    Requester,
    WeightedPrompt,
)
from services.watermark import Watermarker
from tests.fakes.backend import FakeBackend

ALICE = Requester("test", "alice")
BOB = Requester("test", "bob")
ORIGIN = {"platform": "test"}


class QuietSink:
    async def on_queued(self, job_id: str, position: int) -> None: ...
    async def on_started(self, job_id: str) -> None: ...
    async def on_progress(self, job_id: str, progress: Progress) -> None: ...
    async def deliver(self, outcome: JobOutcome) -> None: ...
    async def on_failed(self, job_id: str, error: EaselError) -> None: ...


class DescribingBackend(FakeBackend):
    """The fake backend, answering /describe with a (long) caption."""

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        if request.operation is Operation.DESCRIBE:
            return GenerationResult(images=(), backend=self.name, model="fake-captioner", text=CAPTION)
        return await super().generate(request, progress)


CAPTION = "  a red kite over dunes, " * 200


@dataclass
class Core:
    jobs: JobService
    backend: DescribingBackend
    limits: BackendLimits


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    limits = BackendLimits(operations=frozenset(Operation), default_size=(256, 256), style_presets=("anime",))
    backend = DescribingBackend(default_size=(256, 256), limits=limits)
    db = await Database.open(tmp_path)
    jobs = JobService(
        db=db,
        quota=QuotaBook(db, 10),
        store=ImageStore(tmp_path, db),
        backend=backend,
        watermarker=Watermarker("AI generated"),
        max_concurrency=1,
    )
    jobs.register_platform("test", lambda record: QuietSink())
    await jobs.start()
    try:
        yield Core(jobs, backend, backend.limits)
    finally:
        await jobs.stop()
        await db.close()


async def done(core: Core, request: GenerationRequest, who: Requester = ALICE) -> str:
    submitted = await core.jobs.submit(who, request, origin=ORIGIN)
    await asyncio.wait_for(core.jobs.wait(submitted.job_id), 5)
    return submitted.job_id


def imagine(prompt: str = "a lighthouse", samples: int = 2, **kw: Any) -> GenerationRequest:
    return GenerationRequest(
        operation=Operation.IMAGINE,
        prompts=(WeightedPrompt(prompt),),
        samples=samples,
        width=256,
        height=256,
        **kw,
    )


async def test_upscale_vary_and_reroll_start_from_the_stored_job(core: Core) -> None:
    job = await done(core, imagine(seed=7, style_preset="anime"))
    up = await followup(core.jobs, Action(Verb.UPSCALE, job, 1), core.limits)
    assert up.operation is Operation.UPSCALE and up.source is not None and up.source.index == 1
    vary = await followup(core.jobs, Action(Verb.VARY, job, 0), core.limits)
    assert vary.operation is Operation.REMIX and vary.strength == VARY_STRENGTH
    assert vary.style_preset == "anime" and vary.positive_prompt == "a lighthouse"
    again = await followup(core.jobs, Action(Verb.REROLL, job), core.limits)
    assert again.seed is None and replace(again, seed=7) == await stored_request(core.jobs, job)


async def test_a_reroll_is_refused_once_the_backend_cannot_do_it(core: Core) -> None:
    job = await done(core, imagine())
    without = replace(core.limits, operations=frozenset({Operation.REMIX}))
    with pytest.raises(UnsupportedOption, match="isn't available"):
        await reroll(core.jobs, job, without)


async def test_imagine_this_reads_the_text_from_the_job(core: Core) -> None:
    described = await done(core, GenerationRequest(operation=Operation.DESCRIBE))
    request = await followup(core.jobs, Action(Verb.IMAGINE_THIS, described), core.limits)
    assert request.operation is Operation.IMAGINE and request.positive_prompt.startswith(
        "a red kite over dunes"
    )
    assert len(request.positive_prompt) <= core.limits.max_prompt_chars  # long captions are cut to fit
    picture = await done(core, imagine())
    with pytest.raises(JobNotFound, match="description is gone"):
        await followup(core.jobs, Action(Verb.IMAGINE_THIS, picture), core.limits)


async def test_gone_jobs_and_forged_indexes_are_not_found(core: Core) -> None:
    job = await done(core, imagine(samples=1))
    for action in (
        Action(Verb.UPSCALE, job, 7),
        Action(Verb.VARY, job, 10**19),
        Action(Verb.UPSCALE, "nosuchjob", 0),
    ):
        with pytest.raises(JobNotFound):
            await followup(core.jobs, action, core.limits)
    await core.jobs.delete(job, by=ALICE)
    for verb in (Verb.UPSCALE, Verb.VARY, Verb.REROLL, Verb.IMAGINE_THIS):
        with pytest.raises(JobNotFound):
            await followup(core.jobs, Action(verb, job, 0), core.limits)
    with pytest.raises(JobNotFound):
        await remix(core.jobs, job, 0, prompt="again", limits=core.limits)
    with pytest.raises(ValueError):
        await followup(core.jobs, Action(Verb.DELETE, job), core.limits)


async def test_the_remix_form(core: Core) -> None:
    job = await done(core, imagine())
    request = await remix(
        core.jobs, job, image_number("2", 0), prompt="as ink --no fog", strength="0.4", limits=core.limits
    )
    assert request.operation is Operation.REMIX and request.strength == 0.4
    assert request.source is not None and request.source.index == 1 and request.negative_prompt == "fog"
    assert image_number(" ", 1) == 1
    for bad in ("two", "0", "-3"):
        with pytest.raises(InvalidRequest, match="Which image"):
            image_number(bad, 0)
    with pytest.raises(InvalidRequest, match="strength"):
        await remix(core.jobs, job, 0, prompt="as ink", strength="7", limits=core.limits)


async def test_delete_is_for_the_stored_requester_or_a_moderator(core: Core) -> None:
    job = await done(core, imagine())
    with pytest.raises(NotAllowed):
        await core.jobs.delete(job, by=BOB)
    assert not (await core.jobs.get_job(job)).deleted
    await core.jobs.delete(job, by=BOB, moderator=True)
    assert (await core.jobs.get_job(job)).deleted


async def test_intake_submits_refuses_and_logs(core: Core, caplog: pytest.LogCaptureFixture) -> None:
    intake = Intake(core.jobs, platform="test")
    origins: list[GenerationRequest] = []

    async def origin(request: GenerationRequest) -> dict[str, Any]:
        origins.append(request)
        return {"platform": "test", "token": "s3cret-token"}

    async def build() -> GenerationRequest:
        return imagine("a fox", samples=1)

    async def bad() -> GenerationRequest:
        raise InvalidRequest("--ar needs a ratio", log_detail="ar=banana")

    async def broken() -> GenerationRequest:
        raise RuntimeError("a bug")

    caplog.set_level(logging.INFO, logger="services.intake")
    ok = await intake.submit(ALICE, "imagine", build=build, origin=origin)
    assert isinstance(ok, Submitted) and (await core.jobs.get_job(ok.job.job_id)).requester == ALICE
    assert [r.positive_prompt for r in origins] == ["a fox"]
    refused = await intake.submit(ALICE, "imagine", build=bad, origin=origin)
    assert isinstance(refused, Refused) and refused.error.user_message == "--ar needs a ratio"
    crashed = await intake.submit(ALICE, "imagine", build=broken, origin=origin)
    assert isinstance(crashed, Refused) and type(crashed.error) is EaselError
    over = await intake.submit(
        BOB, "imagine", build=lambda: asyncio.sleep(0, imagine(samples=11)), origin=origin
    )
    assert isinstance(over, Refused) and isinstance(over.error, (QuotaExceeded, InvalidRequest))
    events = [r.getMessage() for r in caplog.records]
    assert events[:3] == ["test.submitted", "test.refused", "test.handler_crashed"]
    refused_log = caplog.records[1]
    extra = refused_log.__dict__  # the structured fields of the log line
    assert extra["detail"] == "ar=banana" and extra["user"] != ALICE.key
    assert "s3cret" not in caplog.text and "alice" not in caplog.text
    assert len(origins) == 2  # a request refused while building never gets as far as its origin
