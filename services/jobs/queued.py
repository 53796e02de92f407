"""What :class:`JobService` answers about waiting jobs: a submit's place, the admins' queue listing."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["POSITION_CAP", "QueuedJob", "SubmittedJob"]

POSITION_CAP = 1000  # a shared queue counts places up to here; past it a job is "more than 1,000" back


@dataclass(frozen=True, slots=True)
class SubmittedJob:
    job_id: str
    position: int  # 1 = starts next


@dataclass(frozen=True, slots=True)
class QueuedJob:
    """One waiting job as the admins' queue listing shows it."""

    job_id: str
    requester_key: str
    images: int
    server_id: str = ""  # where it was asked: admins see their own server's jobs
