"""One job runner per data dir: an exclusive ``flock`` on ``<data_dir>/jobs.lock``.

Usage::

    lock = DataDirLock(db.data_dir)
    lock.acquire()          # DataDirBusy if another process holds it
    ...
    lock.release()          # idempotent; a crashed process releases it by dying

Two processes recovering the same unfinished jobs would run (and post) them twice, so
the second one must refuse to start instead. ``flock`` is released by the kernel when
the holder dies, so a SIGKILLed process never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from services.db import Database

__all__ = ["LOCK_FILENAME", "DataDirBusy", "DataDirLock", "JobsClaim"]

LOCK_FILENAME = "jobs.lock"


class DataDirBusy(Exception):
    """Another easel process is running jobs on this ``EASEL_DATA_DIR``.

    An operator problem, not a user's: raised by :meth:`JobService.start` (via
    :meth:`DataDirLock.acquire`) so the second process stops before it touches any job.
    The message names the directory and what to do about it.
    """


class DataDirLock:
    """The exclusive lock of one data dir, held from :meth:`acquire` to :meth:`release`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting; :class:`DataDirBusy` if another process has it."""
        if self._fd is not None:
            return
        fd = os.open(self.data_dir / LOCK_FILENAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirBusy(
                f"another easel process is running jobs on {self.data_dir}; "
                "stop it or use another EASEL_DATA_DIR"
            ) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock
            self._fd = None


class JobsClaim:
    """What lets one process run the jobs: its data dir's lock *and* the database's claim.

    On SQLite the flock says it all (one file, one data dir). A PostgreSQL database is shared by
    processes with data dirs of their own, so the database holds a claim too
    (:meth:`services.db.Database.claim_jobs`), released when the holder stops or dies.
    """

    def __init__(self, db: Database, *, exclusive: bool = True) -> None:
        self.db = db
        self.exclusive = exclusive  # False: the shared queue, where each job has its own claim
        self.data_dir = DataDirLock(db.data_dir)

    async def acquire(self) -> None:
        """:class:`DataDirBusy` when another process holds either; then neither is held."""
        self.data_dir.acquire()
        try:
            if self.exclusive and not await self.db.claim_jobs():
                raise DataDirBusy(
                    f"another easel process is running jobs on {self.db.where}; "
                    "stop it, or give this one another database"
                )
        except BaseException:
            self.data_dir.release()
            raise

    async def release(self) -> None:
        if self.exclusive:
            await self.db.release_jobs()
        self.data_dir.release()
