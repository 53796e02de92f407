"""What a request must pass before quota is reserved, whichever front end or CLI sent it.

The job service calls the gate first in ``submit``; a refusal is an :class:`~services.errors.EaselError`
raised before anything is written or spent. :class:`services.policy.PolicyBook` is the gate
the composition root installs (prompt block lists, adult-only channels).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from services.types import GenerationRequest, Requester

__all__ = ["RequestGate"]


@runtime_checkable
class RequestGate(Protocol):
    async def check(self, requester: Requester, request: GenerationRequest) -> None:
        """Return to let the request through; raise an ``EaselError`` to refuse it."""

    async def content_filtered(self, requester: Requester, job_id: str, filtered: int) -> None:
        """Note that the backend's own safety filter withheld ``filtered`` images of a job."""
