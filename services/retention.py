"""``EASEL_RETENTION_DAYS``: forget clean originals and inputs older than the operator keeps them.

Results already posted stay in the chat; only easel's own copies go. A button on a purged job
(upscale, vary, remix) then answers that the original is gone (``JobNotFound``). Inputs still
needed by an unfinished job are kept whatever their age::

    purge = RetentionPurge(db, store, days=30)
    report = await purge.purge_once()       # or: task = purge.start(interval_s=3600)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from services.db import Database
from services.errors import EaselError
from services.store import ImageStore

__all__ = ["PurgeReport", "RetentionPurge"]

log = logging.getLogger(__name__)

_DAY_S = 86_400.0
_UNFINISHED = ("queued", "running", "delivering")


@dataclass(frozen=True, slots=True)
class PurgeReport:
    jobs_purged: int
    inputs_deleted: int


class RetentionPurge:
    """Deletes originals of finished jobs and unused inputs older than ``days``."""

    def __init__(
        self, db: Database, store: ImageStore, *, days: int, clock: Callable[[], float] = time.time
    ) -> None:
        if days < 1:
            raise ValueError("days must be >= 1")
        self.db = db
        self.store = store
        self.days = days
        self._clock = clock

    async def purge_once(self) -> PurgeReport:
        cutoff = self._clock() - self.days * _DAY_S
        rows = await self.db.fetchall(
            "SELECT DISTINCT i.job_id FROM images i JOIN jobs j ON j.id = i.job_id "
            f"WHERE i.created_at < ? AND j.status NOT IN ({','.join('?' * len(_UNFINISHED))})",
            (cutoff, *_UNFINISHED),
        )
        for row in rows:
            await self.store.delete_job_images(row["job_id"])
        pending = await self.db.fetchall(
            f"SELECT request_json FROM jobs WHERE status IN ({','.join('?' * len(_UNFINISHED))})", _UNFINISHED
        )
        needed = "\n".join(r["request_json"] for r in pending)
        inputs = await asyncio.to_thread(_old_inputs, self.store.data_dir / "inputs", cutoff, needed)
        report = PurgeReport(len(rows), inputs)
        log.info("retention.purged", extra={"jobs": report.jobs_purged, "inputs": inputs, "days": self.days})
        return report

    def start(self, *, interval_s: float = 3600.0) -> asyncio.Task[None]:
        """Purge now and every ``interval_s``; cancel the task to stop."""
        return asyncio.create_task(self._loop(interval_s), name="retention")

    async def _loop(self, interval_s: float) -> None:
        while True:
            with contextlib.suppress(EaselError):  # storage trouble is logged where it happens; try later
                await self.purge_once()
            await asyncio.sleep(interval_s)


def _old_inputs(folder: Path, cutoff: float, needed: str) -> int:
    """Delete input files last written before ``cutoff`` that no unfinished job names."""
    deleted = 0
    if not folder.is_dir():
        return 0
    for path in folder.glob("*.png"):
        try:
            if path.stat().st_mtime < cutoff and path.stem not in needed:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue
    return deleted
