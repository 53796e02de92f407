"""v2beta's asynchronous creative upscale: submit, then poll ``/v2beta/results/{id}``, resumably.

::

    upscale = CreativeUpscale(http, poll_interval_s=10, max_poll_s=900)
    image = await upscale.run(call, progress, resume_token=None, on_resume_token=save)

``on_resume_token`` is called with the generation id right after the submit; after a restart,
``run(same_call, …, resume_token=saved)`` polls that id instead of paying for a second upscale
(if Stability no longer has it, the job is submitted afresh).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re

from services.backends.base import ProgressCallback, ResumeTokenCallback
from services.backends.stability.http import StabilityHttp
from services.backends.stability.progress import report_progress
from services.backends.stability.v2_answers import image_from
from services.backends.stability.v2_call import V2Call
from services.backends.stability.v2_wire import RESULTS_ACCEPT, RESULTS_PATH
from services.errors import BackendUnavailable, ContentFiltered
from services.types import FinishReason, GeneratedImage, Progress

__all__ = ["CreativeUpscale"]

log = logging.getLogger(__name__)

_RESUME_TOKEN = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_EXPECTED_CREATIVE_S = 45.0  # how long a creative upscale usually takes (for progress)


class _ResultGone(Exception):
    """``/v2beta/results/{id}`` answered 404: expired (24 h), or another key's generation."""


class CreativeUpscale:
    """Runs one asynchronous generation to its image, through a client shared with the backend."""

    def __init__(self, http: StabilityHttp, *, poll_interval_s: float, max_poll_s: float) -> None:
        self._http = http
        self._poll_interval_s = poll_interval_s
        self._max_poll_s = max_poll_s

    async def run(
        self,
        call: V2Call,
        progress: ProgressCallback | None,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GeneratedImage:
        if resume_token is not None and not _RESUME_TOKEN.match(resume_token):
            log.warning("stability.resume_token_invalid", extra={"operation": call.operation})
            resume_token = None
        if resume_token is not None:
            await report_progress(
                progress, Progress(fraction=0.0, message="Picking up the upscale where it was")
            )
            try:
                return await self._poll(call, resume_token, progress, first_delay_s=0.0)
            except _ResultGone:
                log.warning("stability.resume_expired", extra={"operation": call.operation})
        await report_progress(progress, Progress(fraction=0.0, message="Sent to Stability AI"))
        generation_id = await self._submit(call)
        if on_resume_token is not None:
            try:
                await on_resume_token(generation_id)
            except Exception:  # the job still runs; it just could not be resumed after a restart
                log.warning(
                    "stability.resume_token_not_saved", exc_info=True, extra={"operation": call.operation}
                )
        try:
            return await self._poll(call, generation_id, progress, first_delay_s=self._poll_interval_s)
        except _ResultGone:
            raise BackendUnavailable(
                log_detail=f"{call.operation}: result {generation_id[:12]}… vanished while polling"
            ) from None

    async def _submit(self, call: V2Call) -> str:
        reply = await self._http.exchange(
            call.operation, "POST", call.path, form=call.form, accept="application/json"
        )
        if reply.status != 200:
            raise self._http.error_for(reply, call.operation)
        try:
            generation_id = str(json.loads(reply.body)["id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendUnavailable(
                log_detail=f"{call.operation}: unreadable submit answer: {exc}"
            ) from None
        if not _RESUME_TOKEN.match(generation_id):
            raise BackendUnavailable(log_detail=f"{call.operation}: unexpected generation id format")
        log.info("stability.submitted", extra={"operation": call.operation, "generation": generation_id[:12]})
        return generation_id

    async def _poll(
        self, call: V2Call, generation_id: str, progress: ProgressCallback | None, *, first_delay_s: float
    ) -> GeneratedImage:
        """``GET /v2beta/results/{id}`` until 200 (202 = still running), reporting progress."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = first_delay_s
        polls = 0
        while True:
            if delay > 0:
                await asyncio.sleep(delay)
            delay = self._poll_interval_s
            reply = await self._http.exchange(
                call.operation, "GET", f"{RESULTS_PATH}/{generation_id}", accept=RESULTS_ACCEPT
            )
            polls += 1
            if reply.status == 200:
                image = await image_from(reply, call)
                await report_progress(progress, Progress(fraction=1.0, message="Done"))
                log.info("stability.result_ready", extra={"operation": call.operation, "polls": polls})
                if image.finish_reason is FinishReason.CONTENT_FILTERED:
                    raise ContentFiltered(log_detail=f"{call.operation}: result content-filtered")
                return image
            if reply.status == 404:
                raise _ResultGone()
            if reply.status != 202:
                raise self._http.error_for(reply, call.operation)
            elapsed = loop.time() - started
            if elapsed > self._max_poll_s:
                raise BackendUnavailable(
                    log_detail=f"{call.operation}: still in progress after {elapsed:.0f} s ({polls} polls)"
                )
            fraction = min(0.95, elapsed / _EXPECTED_CREATIVE_S) if elapsed else 0.05
            await report_progress(
                progress,
                Progress(
                    fraction=max(fraction, 0.05),
                    eta_s=max(_EXPECTED_CREATIVE_S - elapsed, 0.0) or None,
                    message="Upscaling (creative)…",
                ),
            )
