"""Requests acknowledged on a chat platform but not yet a job: the only SQL on ``pending_requests``.

Usage::

    pending = PendingRequests(db, clock=time.time)
    request_id = await pending.record(requester, "imagine", origin)   # right after the ack
    ...                                                                 # validate, download, build
    await jobs.submit(requester, request, origin=..., pending_id=request_id)   # row gone with the insert
    await pending.forget(request_id)                                   # refused: nothing to carry on
    told = await pending.tell_unstarted(factories, notify)             # at start: the ones a crash left

Why: between a platform's acknowledgement ("easel is thinking…") and the job row lies the
validation and the attachment download. A process killed there used to lose the request
silently, its placeholder stuck for good. The row written at the ack holds everything a sink
needs to reach the person (interaction token, channel, Slack ``response_url``), so the next
start tells them the request was not started and nothing was spent. The job insert deletes
the row in the same transaction, so a request is either pending or a job, never both.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from services.db import Database, Transaction
from services.errors import JobCancelled
from services.jobs.active import user_hash
from services.jobs.codec import requester_from_dict, requester_to_dict
from services.jobs.records import JobRecord, JobStatus
from services.jobs.sinks import SinkFactory, SinkNotifier
from services.types import Requester

__all__ = ["NOT_STARTED", "PendingRequests"]

log = logging.getLogger(__name__)

NOT_STARTED = (
    "easel restarted before your request could start, so it was not started. "
    "Nothing was spent; please send it again."
)


class PendingRequests:
    """See the module docstring."""

    def __init__(self, db: Database, *, clock: Callable[[], float], owner: str = "") -> None:
        self.db = db
        self._clock = clock
        self.owner = owner  # the process that acknowledged: only its next start tells (shared database)
        self._telling: set[asyncio.Task[None]] = set()

    async def record(self, requester: Requester, command: str, origin: Mapping[str, Any]) -> str:
        """Write an acknowledged request (one autocommitted row); returns its id."""
        request_id = "p" + uuid.uuid4().hex
        await self.db.execute(
            "INSERT INTO pending_requests (id, platform, command, requester_json, origin_json, created_at, owner)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                request_id,
                str(origin.get("platform", "")),
                command,
                json.dumps(requester_to_dict(requester)),
                json.dumps(dict(origin)),
                self._clock(),
                self.owner or None,
            ),
        )
        return request_id

    async def forget(self, request_id: str, *, tx: Transaction | None = None) -> None:
        """The request became a job (pass the job's transaction) or was answered: drop its row."""
        sql, params = "DELETE FROM pending_requests WHERE id = ?", (request_id,)
        if tx is not None:
            await tx.execute(sql, params)
        else:
            await self.db.execute(sql, params)

    async def tell_unstarted(self, factories: Mapping[str, SinkFactory], notify: SinkNotifier) -> list[str]:
        """At start: tell each person whose request a previous process acknowledged but never queued.

        Nothing was reserved for these (quota is reserved with the job row), so telling is all
        there is to do. The telling runs in the background (a sink may wait for its front end
        to connect, which happens after the job service starts); :meth:`close` ends it. Rows
        whose platform is not registered are dropped with a log line.
        """
        told: list[str] = []
        if self.owner:  # a shared database: another live process's requests are its own business
            sql = "SELECT * FROM pending_requests WHERE owner = ? OR owner IS NULL ORDER BY created_at"
            rows = await self.db.fetchall(sql, (self.owner,))
        else:
            rows = await self.db.fetchall("SELECT * FROM pending_requests ORDER BY created_at")
        for row in rows:
            request_id = str(row["id"])
            try:
                requester = requester_from_dict(json.loads(row["requester_json"]))
                origin = json.loads(row["origin_json"])
            except (ValueError, KeyError, TypeError):
                log.warning("request.pending_unreadable", extra={"request_id": request_id})
                await self.forget(request_id)
                continue
            base_log = {"request_id": request_id, "user": user_hash(requester.key), "command": row["command"]}
            factory = factories.get(str(row["platform"]))
            record = JobRecord(
                job_id=request_id,
                requester=requester,
                request=None,
                origin=origin,
                status=JobStatus.FAILED,
                created_at=datetime.fromtimestamp(float(row["created_at"]), UTC),
                n_requested=0,
                error=NOT_STARTED,
                error_kind="JobCancelled",
            )
            try:
                sink = factory(record) if factory is not None else None
            except Exception:
                log.exception("request.sink_factory_failed", extra=base_log)
                sink = None
            await self.forget(request_id)  # before telling: a crash while telling never tells twice
            if sink is None:
                log.warning("request.not_started", extra={**base_log, "told": False})
                continue
            error = JobCancelled(NOT_STARTED, log_detail="acknowledged, not queued")
            task = asyncio.create_task(
                notify.failed(sink, request_id, error), name=f"easel-tell-{request_id[:9]}"
            )
            self._telling.add(task)
            task.add_done_callback(self._telling.discard)
            log.info("request.not_started", extra={**base_log, "told": True})
            told.append(request_id)
        return told

    async def wait_told(self) -> None:
        """Until every background tell has ended (each is time-boxed by the notifier)."""
        if self._telling:
            await asyncio.gather(*self._telling, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._telling):
            task.cancel()
        await self.wait_told()
