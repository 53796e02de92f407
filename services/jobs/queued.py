"""What :class:`JobService` answers about waiting jobs: a submit's place, the admins' queue listing."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QueuedJob", "SubmittedJob"]


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
