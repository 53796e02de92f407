"""The ``jobs`` table: the one module with SQL on it, and the :class:`JobRecord` read from it.

Usage::

    records = JobRecords(db, store)
    row = NewJob.encode(job_id, requester, origin, request, refs, created_at=now)
    async with db.transaction() as tx:                 # with the quota reservation
        await records.insert(tx, row, reservation_id)
    await records.mark_running(job_id, started_at=now)
    record = await records.get(job_id)                 # None if unknown
    for job in await records.unfinished():             # what a crash left behind
        ...
    async for batch in records.unfinished_batches(500):  # the same, a batch at a time
        ...

The status column follows the life of a job drawn in :mod:`services.jobs`. Rows are
never deleted: a deleted result keeps its row with ``deleted_at`` set, so its buttons
can say "gone" instead of "unknown". Input images are not in the row (only their
content addresses, see :mod:`services.jobs.codec`); reading a row loads them from the
:class:`ImageStore`, and a row whose inputs are gone or unreadable comes back with
``request=None`` and the reason.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from services.db import Database, Row, Transaction
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    ContentFiltered,
    EaselError,
    InvalidRequest,
    JobCancelled,
    JobNotFound,
    NotAllowed,
    StorageBusy,
    StorageError,
    StorageFull,
    StorageUnavailable,
    UnsupportedOption,
)
from services.jobs.codec import (
    image_refs,
    request_from_dict,
    request_to_dict,
    requester_from_dict,
    requester_to_dict,
)
from services.jobs.shared_queue import Placement
from services.store import ImageRef, ImageStore
from services.types import GenerationRequest, InputImage, Requester

__all__ = ["JobRecord", "JobRecords", "JobStatus", "NewJob", "UnfinishedJob", "stored_error"]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DELIVERING = "delivering"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value, JobStatus.DELIVERING.value)
# Spelled literally so SQLite uses the partial index ix_jobs_unfinished (migration 5).
_UNFINISHED_SQL = "status IN ('queued', 'running', 'delivering')"


@dataclass(frozen=True, slots=True)
class JobRecord:
    """A job as stored. ``request`` is None only when its input images are gone."""

    job_id: str
    requester: Requester
    request: GenerationRequest | None
    origin: Mapping[str, Any]
    status: JobStatus
    created_at: datetime
    n_requested: int
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None  # the user message of the failure
    error_kind: str | None = None  # its class name in services.errors
    n_delivered: int = 0
    n_filtered: int = 0
    backend: str | None = None
    model: str | None = None
    seeds: tuple[int, ...] = ()  # of the delivered images
    text: str | None = None
    deleted: bool = False

    @property
    def platform(self) -> str:
        return str(self.origin.get("platform", ""))


@dataclass(frozen=True, slots=True)
class UnfinishedJob:
    """A row the recovery scan found: what resuming it needs besides the record."""

    record: JobRecord
    reservation_id: str
    resume_token: str | None
    unreadable: str  # why ``record.request`` is None ("" when it is not)
    inputs: Mapping[str, ImageRef] = field(default_factory=dict)  # the request's input images, by field


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job row before it is inserted, encoded up front: a bad origin fails at submit, not at restart."""

    job_id: str
    requester: Requester
    platform: str
    origin_json: str
    request_json: str
    created_at: float
    n_requested: int

    @classmethod
    def encode(
        cls,
        job_id: str,
        requester: Requester,
        origin: Mapping[str, Any],
        request: GenerationRequest,
        refs: Mapping[str, ImageRef],
        *,
        created_at: float,
    ) -> NewJob:
        """``TypeError`` if ``origin`` is not JSON-able."""
        return cls(
            job_id=job_id,
            requester=requester,
            platform=str(origin["platform"]),
            origin_json=json.dumps(dict(origin)),
            request_json=json.dumps(request_to_dict(request, refs)),
            created_at=created_at,
            n_requested=request.images_requested,
        )


# Failures a late ``wait()`` rebuilds from ``error_kind``: an explicit list rather than a getattr on
# services.errors, so text from a row can only ever build one of these (tests/services/test_job_records.py
# fails when a new error class is missing). QuotaExceeded and BudgetExceeded are absent: a job never fails with them (the
# row is written only once quota is reserved) and its constructor needs figures the row lacks.
_STORED_ERRORS: Mapping[str, type[EaselError]] = {
    cls.__name__: cls
    for cls in (
        EaselError,
        InvalidRequest,
        UnsupportedOption,
        JobNotFound,
        NotAllowed,
        BackendError,
        BackendRejected,
        BackendMisconfigured,
        BackendUnavailable,
        ContentFiltered,
        StorageError,
        StorageFull,
        StorageBusy,
        StorageUnavailable,
        JobCancelled,
    )
}


def stored_error(kind: str | None, message: str | None) -> EaselError:
    """The failure a row records, as the error a late ``wait()`` raises (unknown kinds: EaselError)."""
    return _STORED_ERRORS.get(kind or "", EaselError)(message)


class JobRecords:
    """All reads and writes of the ``jobs`` table (see the module docstring)."""

    def __init__(self, db: Database, store: ImageStore) -> None:
        self.db = db
        self.store = store

    # Writes ---------------------------------------------------------------------------------

    async def insert(
        self, tx: Transaction, job: NewJob, reservation_id: str, placed: Placement | None = None
    ) -> None:
        """Write a queued job in ``tx``, the transaction that reserved its quota.

        ``placed``: its place in the shared queue (:mod:`services.jobs.shared_queue`), if there is one.
        """
        placed = placed or Placement(0, 0.0)
        await tx.execute(
            "INSERT INTO jobs (id, requester_key, requester_json, platform, origin_json, request_json,"
            " status, reservation_id, created_at, n_requested, fair_round, lease_until)"
            " VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
            (
                job.job_id,
                job.requester.key,
                json.dumps(requester_to_dict(job.requester)),
                job.platform,
                job.origin_json,
                job.request_json,
                reservation_id,
                job.created_at,
                job.n_requested,
                placed.fair_round,
                placed.lease_until,
            ),
        )

    async def requeue_interrupted(self) -> int:
        """Every job a previous process left running is queued again (one statement, at start)."""
        return await self.db.execute(
            f"UPDATE jobs SET status = 'queued' WHERE {_UNFINISHED_SQL} AND status = 'running'"
        )

    async def mark_queued(self, job_id: str) -> None:
        """Back in the queue (a job a restart interrupted while running)."""
        await self.db.execute("UPDATE jobs SET status = 'queued' WHERE id = ?", (job_id,))

    async def mark_running(self, job_id: str, *, started_at: float) -> None:
        await self.db.execute(
            "UPDATE jobs SET status = 'running', started_at = ? WHERE id = ?", (started_at, job_id)
        )

    async def save_resume_token(self, job_id: str, token: str) -> None:
        """The backend's handle on an asynchronous generation, polled again after a restart."""
        await self.db.execute("UPDATE jobs SET resume_token = ? WHERE id = ?", (token, job_id))

    async def mark_delivering(
        self,
        job_id: str,
        *,
        backend: str,
        model: str,
        n_filtered: int,
        seeds: Sequence[int],
        text: str | None,
    ) -> None:
        """The originals are stored and the sink is about to post them (a crash now redelivers)."""
        await self.db.execute(
            "UPDATE jobs SET status = 'delivering', backend = ?, model = ?, n_filtered = ?, seeds_json = ?,"
            " result_text = ? WHERE id = ?",
            (backend, model, n_filtered, json.dumps(list(seeds)), text, job_id),
        )

    async def mark_done(self, tx: Transaction, job_id: str, *, finished_at: float, n_delivered: int) -> None:
        await tx.execute(
            "UPDATE jobs SET status = 'done', finished_at = ?, n_delivered = ? WHERE id = ?",
            (finished_at, n_delivered, job_id),
        )

    async def mark_failed(
        self, tx: Transaction, job_id: str, status: JobStatus, error: EaselError, *, finished_at: float
    ) -> None:
        """Failed or cancelled: keeps the error's class name and user message for a late ``wait()``."""
        await tx.execute(
            "UPDATE jobs SET status = ?, finished_at = ?, error_kind = ?, error = ? WHERE id = ?",
            (status.value, finished_at, type(error).__name__, error.user_message, job_id),
        )

    async def mark_deleted(self, job_id: str, *, deleted_at: float) -> bool:
        """The user deleted the result; False if there is no such job."""
        changed = await self.db.execute("UPDATE jobs SET deleted_at = ? WHERE id = ?", (deleted_at, job_id))
        return changed > 0

    # Reads ----------------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        """The stored job with its request rebuilt (None if there is no such job)."""
        row = await self.db.fetchone("SELECT * FROM jobs WHERE id = ?", (job_id,))
        if row is None:
            return None
        request, _ = await self._rebuild_request(row)
        return _record(row, request)

    async def find_by_prefix(self, prefix: str) -> JobRecord | None:
        """The one job whose id starts with ``prefix`` (hex; what an invisible mark carries), else None."""
        if not prefix or any(c not in "0123456789abcdef" for c in prefix):
            return None
        rows = await self.db.fetchall(  # ids are lower-case hex, all below "g": an index range scan
            "SELECT id FROM jobs WHERE id >= ? AND id < ? LIMIT 2", (prefix, prefix + "g")
        )
        return await self.get(rows[0]["id"]) if len(rows) == 1 else None

    async def recent_of(self, requester_key: str, limit: int = 20) -> list[JobRecord]:
        """A person's latest jobs, newest first (``/history``); deleted ones are left out."""
        rows = await self.db.fetchall(
            "SELECT * FROM jobs WHERE requester_key = ? AND deleted_at IS NULL ORDER BY created_at DESC, rowid DESC LIMIT ?",
            (requester_key, limit),
        )
        return [_record(row, (await self._rebuild_request(row))[0]) for row in rows]

    async def images_since(self, requester_key: str, since: float) -> int:
        """Images a person's jobs made (or, still running, may make) since ``since`` (``/quota``)."""
        row = await self.db.fetchone(
            "SELECT COALESCE(SUM(CASE WHEN status = 'done' THEN n_delivered"
            " WHEN status IN ('queued', 'running', 'delivering') THEN n_requested ELSE 0 END), 0) AS n"
            " FROM jobs WHERE requester_key = ? AND created_at > ?",
            (requester_key, since),
        )
        return int(row["n"]) if row is not None else 0

    async def unfinished(self) -> list[UnfinishedJob]:
        """The recovery scan: queued, running and delivering jobs, oldest first."""
        return [job async for batch in self.unfinished_batches() for job in batch]

    async def unfinished_batches(
        self, size: int = 500, *, upto: int | None = None
    ) -> AsyncIterator[list[UnfinishedJob]]:
        """:meth:`unfinished` ``size`` rows at a time: each batch is one index range, never a sort.

        ``upto`` (a :meth:`last_rowid`) leaves out rows written after it, by a process already serving.
        """
        after: tuple[float, int] = (float("-inf"), -1)
        while True:
            rows = await self.db.fetchall(
                f"SELECT rowid AS row_id, * FROM jobs WHERE {_UNFINISHED_SQL} AND (created_at, rowid) > (?, ?)"
                " AND rowid <= ? ORDER BY created_at, rowid LIMIT ?",
                (*after, 2**63 - 1 if upto is None else upto, size),
            )
            if not rows:
                return
            after = (rows[-1]["created_at"], rows[-1]["row_id"])
            yield [await self.unfinished_from(row) for row in rows]

    async def unfinished_from(self, row: Row) -> UnfinishedJob:
        """An unfinished job's row as recovery (or a worker that claimed it) needs it."""
        request, unreadable = await self._rebuild_request(row)
        return UnfinishedJob(
            _record(row, request),
            row["reservation_id"],
            row["resume_token"],
            unreadable,
            _refs(row) if request is not None else {},
        )

    async def last_rowid(self) -> int:
        """The newest row's rowid (0 for none): where a recovery scan stops."""
        row = await self.db.fetchone("SELECT MAX(rowid) AS r FROM jobs")
        return int(row["r"]) if row is not None and row["r"] is not None else 0

    async def unfinished_ids(self) -> set[str]:
        """Ids of every queued, running or delivering job."""
        rows = await self.db.fetchall(f"SELECT id FROM jobs WHERE {_UNFINISHED_SQL}")
        return {row["id"] for row in rows}

    async def _rebuild_request(self, row: Row) -> tuple[GenerationRequest | None, str]:
        """The stored request with its input images, or (None, why not)."""
        try:
            data = json.loads(row["request_json"])
            images: dict[str, InputImage] = {}
            for name, ref in image_refs(data).items():
                images[name] = await self.store.load_input(ref)
            return request_from_dict(data, images), ""
        except JobNotFound as exc:
            return None, exc.log_detail
        except (ValueError, KeyError, TypeError) as exc:
            return None, f"undecodable request: {exc}"


def _refs(row: Row) -> dict[str, ImageRef]:
    return image_refs(json.loads(row["request_json"]))


def _dt(ts: float | None) -> datetime | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def _record(row: Row, request: GenerationRequest | None) -> JobRecord:
    return JobRecord(
        job_id=row["id"],
        requester=requester_from_dict(json.loads(row["requester_json"])),
        request=request,
        origin=json.loads(row["origin_json"]),
        status=JobStatus(row["status"]),
        created_at=_dt(row["created_at"]) or datetime.now(UTC),
        n_requested=int(row["n_requested"]),
        started_at=_dt(row["started_at"]),
        finished_at=_dt(row["finished_at"]),
        error=row["error"],
        error_kind=row["error_kind"],
        n_delivered=int(row["n_delivered"]),
        n_filtered=int(row["n_filtered"]),
        backend=row["backend"],
        model=row["model"],
        seeds=tuple(json.loads(row["seeds_json"])) if row["seeds_json"] else (),
        text=row["result_text"],
        deleted=row["deleted_at"] is not None,
    )
