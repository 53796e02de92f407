"""A full disk is an operator condition: told once, watched, and waited out instead of failing jobs.

Usage::

    watch = StorageWatch(data_dir, active, retry_s=5.0, max_wait_s=3600.0)
    watch.report(error)        # a StorageFull: one ``storage.full`` log line per episode, /healthz degraded
    watch.recovered()          # a write went through again: ``storage.recovered``
    watch.is_full()            # for /healthz: re-checks the free space, so freeing it is enough

While the condition lasts, a job whose result could not be stored keeps that result in memory
and retries storing it every ``retry_s`` (its quota stays reserved, not spent); other jobs wait
in the queue behind the workers that are waiting. Only past ``max_wait_s`` does the job fail,
refunded, with :class:`~services.errors.StorageFull`'s message.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.errors import StorageFull
from services.jobs.active import ActiveJobs

__all__ = ["STORAGE_MAX_WAIT_S", "STORAGE_RETRY_S", "StorageWatch"]

log = logging.getLogger(__name__)

STORAGE_RETRY_S = 5.0
STORAGE_MAX_WAIT_S = 3600.0
_HEADROOM_BYTES = 1 << 20  # what "space again" means: the failed write plus a little


@dataclass(eq=False, kw_only=True)
class StorageWatch:
    """See the module docstring."""

    data_dir: Path
    active: ActiveJobs
    retry_s: float = STORAGE_RETRY_S
    max_wait_s: float = STORAGE_MAX_WAIT_S
    _full_since: float | None = field(default=None, init=False)
    _needed_bytes: int = field(default=0, init=False)
    _full_path: Path | None = field(default=None, init=False)

    def report(self, error: StorageFull) -> None:
        """Note the condition; the first report of an episode logs one clear line."""
        self._needed_bytes = max(self._needed_bytes, error.needed_bytes)
        self.active.storage_full = True
        if self._full_since is not None:
            return
        self._full_since = time.monotonic()
        self._full_path = Path(error.path) if error.path else self.data_dir
        self.active.counts["storage_full_events"] += 1
        log.error(
            "storage.full",
            extra={
                "path": error.path or str(self.data_dir),
                "needed_bytes": error.needed_bytes,
                "free_bytes": self.free_bytes(),  # of the file system that is full
                "detail": f"no space left to store results; jobs wait (up to {self.max_wait_s:.0f} s) "
                "and go on once space is freed",
            },
        )

    def recovered(self) -> None:
        if self._full_since is None:
            return
        log.info(
            "storage.recovered",
            extra={"path": str(self.data_dir), "full_for_s": round(time.monotonic() - self._full_since, 1)},
        )
        self._full_since = None
        self._full_path = None
        self._needed_bytes = 0
        self.active.storage_full = False

    def is_full(self) -> bool:
        """Whether the condition still holds; freeing space clears it even before a job retries."""
        if self._full_since is not None and self.free_bytes() > self._needed_bytes + _HEADROOM_BYTES:
            self.recovered()
        return self._full_since is not None

    def free_bytes(self) -> int:
        """Free bytes on the file system where the failed write went (the data dir's by default)."""
        place = self._full_path or self.data_dir
        while not place.exists() and place != place.parent:
            place = place.parent
        try:
            return shutil.disk_usage(place).free
        except OSError:
            return 0
