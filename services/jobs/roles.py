"""What one easel process does with the jobs: everything, only take them, or only run them (issue 15).

``--role all`` (the default) is the single process: front ends, queue and workers. With a
shared PostgreSQL database the work can be split: a ``gateway`` holds the chat connections and
submits jobs; a ``worker`` claims queued jobs from the database and delivers their results
through the platforms' REST APIs.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    ALL = "all"
    GATEWAY = "gateway"
    WORKER = "worker"

    @property
    def runs_jobs(self) -> bool:
        return self is not Role.GATEWAY

    @property
    def takes_submits(self) -> bool:
        return self is not Role.WORKER
