"""Did this installation make a picture, and for whom? One routine for the CLI and both chat front ends.

::

    verifier = Verifier(instance_id="3fa2c01b", find_job=services.jobs.find_job)
    result = await verifier.verify(data, viewer=requester)        # Verification (frozen, platform-neutral)
    result.mark, result.job.operation, result.job.requester        # requester only for them / an operator

The upload is opened like any other (:func:`services.images.load_input_image`: size, pixel and
format checks, EXIF rotation), then :func:`services.provenance.detect_mark` runs off the event
loop. A mark of this instance is looked up in SQLite by its job-id prefix: when, which command,
which model. Who asked is told only to that person (same platform and user id) or an operator
(the CLI, run on the host). Marks of another installation report only their instance id.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from PIL import Image

from services.backends.base import BackendLimits
from services.images import load_input_image, sniff_format
from services.offload import run_cpu
from services.provenance.credentials import Credentials, read_credentials
from services.provenance.detect import DetectedMark, detect_mark
from services.types import Requester

if TYPE_CHECKING:
    from services.jobs.records import JobRecord

__all__ = ["JobFacts", "JobLookup", "Verification", "Verifier"]

_ABSENT: Final = Credentials(present=False)
_MIME: Final = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}

#: What an image to verify may be: screenshots and saved copies, not generation inputs.
VERIFY_LIMITS: Final = BackendLimits(operations=frozenset(), max_input_bytes=25 * 1024 * 1024)


JobLookup = Callable[[str], Awaitable["JobRecord | None"]]
"""Finds a job by the 12-hex-digit prefix a mark carries (``JobService.find_job``)."""


@dataclass(frozen=True, slots=True)
class JobFacts:
    """What the store says about the marked job; ``requester`` is None when the viewer may not know."""

    job_id: str
    created_at: datetime
    operation: str
    model: str | None
    requester: Requester | None


@dataclass(frozen=True, slots=True)
class Verification:
    """The answer for one picture. ``mark`` is False when no easel mark was found."""

    mark: bool
    instance_id: str | None = None
    job_prefix: str | None = None
    this_instance: bool = False
    job: JobFacts | None = None
    strength: float | None = None
    credentials: Credentials = _ABSENT

    def _c2pa(self) -> str:
        c = self.credentials
        return (
            "absent"
            if not c.present
            else "tampered"
            if c.tampered
            else "valid"
            if c.trusted
            else "valid, untrusted"
        )

    def as_json(self) -> dict[str, Any]:
        """The ``easel verify --json`` fields (without ``path``)."""
        out: dict[str, Any] = {"mark": self.mark, "c2pa": self._c2pa()}
        if self.mark:
            out |= {"instance": self.instance_id, "job": self.job_prefix, "this_instance": self.this_instance}
        if self.job is not None:
            out |= {
                "job_id": self.job.job_id,
                "when": self.job.created_at.isoformat(),
                "command": self.job.operation,
                "model": self.job.model,
            }
            if self.job.requester is not None:
                out["requested_by"] = self.job.requester.key
        return out


def _credentials(data: bytes) -> Credentials:
    fmt = sniff_format(data)
    return read_credentials(data, _MIME[fmt]) if fmt in _MIME else _ABSENT


def _decode(png: bytes) -> DetectedMark | None:
    with Image.open(io.BytesIO(png)) as img:
        img.load()
        return detect_mark(img)


@dataclass(frozen=True, slots=True)
class Verifier:
    """See the module docstring. ``find_job`` is None where no database is at hand;
    ``instance_id`` is None when this data dir never published anything."""

    instance_id: str | None
    find_job: JobLookup | None = None

    async def verify(
        self, data: bytes, *, viewer: Requester | None = None, operator: bool = False
    ) -> Verification:
        """Check one upload; bad input raises :class:`services.errors.InvalidRequest` (polite message)."""
        image = await load_input_image(data, VERIFY_LIMITS, what="picture")
        found = await run_cpu(_decode, image.png)
        credentials = await run_cpu(_credentials, data)
        if found is None:
            return Verification(mark=False, credentials=credentials)
        ours = found.payload.instance_id == self.instance_id
        job = await self._job(found.payload.job_prefix, viewer, operator) if ours else None
        return Verification(
            mark=True,
            instance_id=found.payload.instance_id,
            job_prefix=found.payload.job_prefix,
            this_instance=ours,
            job=job,
            strength=found.strength,
            credentials=credentials,
        )

    async def _job(self, prefix: str, viewer: Requester | None, operator: bool) -> JobFacts | None:
        if self.find_job is None:
            return None
        record = await self.find_job(prefix)
        if record is None:
            return None
        may_know = operator or (viewer is not None and viewer.key == record.requester.key)
        operation = record.request.operation.value if record.request is not None else "unknown"
        return JobFacts(
            job_id=record.job_id,
            created_at=record.created_at,
            operation=operation,
            model=record.model,
            requester=record.requester if may_know else None,
        )
