"""From a built request to a queued job, the same way for every front end.

A front end hands over how to build the request (parsing, downloads, stored originals) and how to
describe where the answer goes; intake runs both, submits, and logs the outcome once::

    intake = Intake(jobs, platform="slack")
    outcome = await intake.submit(requester, "imagine", build=lambda: spec.build(inv, limits),
                                  origin=lambda request: {"platform": "slack", **target.to_origin()})
    if isinstance(outcome, Refused):
        await tell(error_text(outcome.error))   # nothing was spent

Log lines: ``<platform>.refused`` (the user's error, with its operator detail),
``<platform>.handler_crashed`` (a bug: traceback, user sees the generic error), and
``<platform>.submitted``. They name the command and a hash of the user, never a token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.errors import EaselError
from services.jobs import JobService, SubmittedJob, user_hash
from services.types import GenerationRequest, Requester
from services.user_settings import UserSettingsBook

__all__ = ["Built", "Intake", "PersonalBuild", "Refused", "Submitted"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Submitted:
    job: SubmittedJob


@dataclass(frozen=True, slots=True)
class Refused:
    """Nothing was queued or spent; ``error`` says why, in words for the user."""

    error: EaselError


@dataclass(frozen=True, slots=True)
class Built:
    """A request built with the person's ``/settings`` defaults, and the ones it used, as shown
    to them (``("--ar 16:9", "--n 2")``; see ``commands.settings.build_with_defaults``)."""

    request: GenerationRequest
    defaults_used: tuple[str, ...] = ()


PersonalBuild = Callable[[Mapping[str, object]], Awaitable[Built]]
"""Builds a typed command's request from the person's defaults (read by :meth:`Intake.submit_typed`)."""


class Intake:
    """Build → submit → :class:`Submitted` or :class:`Refused`, for one front end."""

    def __init__(self, jobs: JobService, *, platform: str) -> None:
        self.jobs = jobs
        self.platform = platform
        self.defaults = UserSettingsBook(jobs.db)

    async def submit_typed(
        self,
        requester: Requester,
        command: str,
        *,
        build: PersonalBuild,
        origin: Callable[[GenerationRequest], Awaitable[Mapping[str, Any]]],
        acknowledged: Mapping[str, Any] | None = None,
    ) -> Submitted | Refused:
        """:meth:`submit` for a command the person typed (or filled in): ``build`` gets their
        personal defaults, read here for every front end, and the defaults it used are stored in
        the job's origin (``origin["defaults"]``) so the result says so, even after a restart.
        Follow-ups (buttons, run again) use :meth:`submit`: they repeat a stored request as it was.
        """
        used: tuple[str, ...] = ()

        async def build_request() -> GenerationRequest:
            nonlocal used
            built = await build(await self.defaults.get(requester))
            used = built.defaults_used
            return built.request

        async def noted_origin(request: GenerationRequest) -> Mapping[str, Any]:
            where = dict(await origin(request))
            if used:
                where["defaults"] = list(used)
            return where

        return await self.submit(
            requester, command, build=build_request, origin=noted_origin, acknowledged=acknowledged
        )

    async def submit(
        self,
        requester: Requester,
        command: str,
        *,
        build: Callable[[], Awaitable[GenerationRequest]],
        origin: Callable[[GenerationRequest], Awaitable[Mapping[str, Any]]],
        acknowledged: Mapping[str, Any] | None = None,
    ) -> Submitted | Refused:
        """``acknowledged``: where the answer goes, as known right after the platform's ack
        (JSON-able, names the platform). It is stored before ``build`` runs, so a restart
        during validation or a download tells the person instead of losing the request."""
        user = user_hash(requester.key)
        pending_id: str | None = None
        try:
            if acknowledged is not None:
                pending_id = await self.jobs.pending.record(requester, command, acknowledged)
            request = await build()
            submitted = await self.jobs.submit(
                requester, request, origin=dict(await origin(request)), pending_id=pending_id
            )
        except EaselError as error:
            await self._forget(pending_id)
            log.info(
                f"{self.platform}.refused",
                extra={
                    "command": command,
                    "user": user,
                    "error_kind": type(error).__name__,
                    "detail": error.log_detail,
                },
            )
            return Refused(error)
        except Exception:  # a bug or an unexpected failure below: still answer, and keep serving
            log.exception(f"{self.platform}.handler_crashed", extra={"command": command, "user": user})
            await self._forget(pending_id)
            return Refused(EaselError())
        log.info(
            f"{self.platform}.submitted",
            extra={
                "job_id": submitted.job_id,
                "command": command,
                "user": user,
                "position": submitted.position,
            },
        )
        return Submitted(submitted)

    async def _forget(self, pending_id: str | None) -> None:
        """The request is answered here and now: a restart must not tell the person again."""
        if pending_id is None:
            return
        try:
            await self.jobs.pending.forget(pending_id)
        except EaselError:
            log.warning(f"{self.platform}.pending_not_forgotten", extra={"request_id": pending_id})
