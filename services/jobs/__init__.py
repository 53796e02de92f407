"""The job runner every front end shares: quota, persistence, fair queue, workers, recovery.

Usage::

    jobs = JobService(db=db, quota=QuotaBook(db, 25), store=ImageStore(data_dir, db),
                      backend=backend, watermarker=Watermarker("AI generated"), max_concurrency=2)
    jobs.register_platform("discord", lambda record: DiscordSink(client, record.origin))
    report = await jobs.start()                 # resumes or refunds what a crash left behind
    submitted = await jobs.submit(requester, request, origin={"platform": "discord", ...})
    outcome = await jobs.wait(submitted.job_id) # or let the sink post it
    await jobs.stop()

The life of a job (status column of ``jobs``)::

    submit ──► queued ──► running ──► delivering ──► done        quota committed per delivered image
                 │           │            │
                 └───────────┴────────────┴────────► failed      quota refunded, sink.on_failed
                 └───────────┴──────────────────────► cancelled   quota refunded, sink.on_failed

* Nothing lost: the quota reservation and the job row are written in one transaction
  before the job is queued; input images are stored by content hash.
* ``delivering`` means the clean originals are stored and the sink is posting them. A
  crash there is resumed by re-publishing the stored originals (the backend is not
  called, nor charged, again); the user may at worst see the post twice, never lose it.
* Never charged twice: a resumed job reuses its reservation, and commit/refund only
  act on a reservation still open (:mod:`services.quota`). A job is charged one unit
  per delivered image (a text-only result, e.g. describe, counts as one).
* ``stop()`` leaves unfinished jobs ``queued``/``running``/``delivering`` in SQLite on
  purpose: they are not the user's fault, so the next ``start()`` resumes them instead
  of refunding and dropping them. In-process waiters get :class:`JobCancelled`.
* One process per data dir: ``start()`` takes an exclusive lock on
  ``<data_dir>/jobs.lock`` so two processes can never recover (and run) the same jobs.
* On PostgreSQL (``EASEL_DATABASE_URL``) the queue is the ``jobs`` table itself, shared by
  every process: one claim per job (``FOR UPDATE SKIP LOCKED`` in the fair order), renewed
  while it runs; a process that dies loses its claims after the lease and another one
  resumes its jobs as a restart would (:mod:`services.jobs.shared_queue`). Roles
  (:class:`Role`) split taking jobs (gateway) from running them (worker).
* Register every platform before ``start()``: resumed jobs get their sink from the
  factory during ``start()`` (``on_resumed`` for a :class:`ResumeAwareSink`, else ``on_queued``),
  and a job whose platform is not registered is refunded and marked failed.
* ``origin`` is stored as JSON in SQLite: channel/thread/message ids, never secrets.

One module per job it does (import the public names from here)::

    service.py      JobService, the facade: start/stop, submit, wait, cancel, delete, queries
    records.py      JobRecord, JobStatus and the only SQL on the ``jobs`` table
    active.py       what this process holds in memory: queued/running jobs, counters (JobStats)
    runner.py       the worker pool: run one job, call the backend, deliver
    publishing.py   store the clean originals, stamp the published copies, republish from the store
    settlement.py   commit or refund the quota and write the final row, in one transaction
    recovery.py     at start: resume or refund (and tell) what a previous process left
    sinks.py        JobSink and its optional ResumeAwareSink and PauseAwareSink, time-boxed notifications
    pausing.py      the admins' pause: queued jobs' requesters told once, and again on resume
    lock.py         one process per data dir (DataDirBusy)
    fair_queue.py   round-robin between users, in memory (SQLite: one process)
    shared_queue.py the queue in a shared PostgreSQL: fair rounds, claims, leases (SQL)
    shared.py       one process's side of it: wakeups, lease renewal, claimed rows made jobs
    roles.py        Role: all, gateway (takes jobs), worker (runs them)
    queued.py       SubmittedJob, QueuedJob
    codec.py        GenerationRequest <-> JSON for the job row
"""

from services.jobs.active import JobStats, user_hash
from services.jobs.lock import DataDirBusy
from services.jobs.publishing import Publisher
from services.jobs.records import JobRecord, JobStatus
from services.jobs.recovery import RecoveryReport
from services.jobs.roles import Role
from services.jobs.service import JobService, SubmittedJob
from services.jobs.sinks import JobSink, PauseAwareSink, ResumeAwareSink, SinkFactory

__all__ = [
    "DataDirBusy",
    "JobRecord",
    "JobService",
    "JobSink",
    "JobStats",
    "JobStatus",
    "PauseAwareSink",
    "Publisher",
    "RecoveryReport",
    "ResumeAwareSink",
    "Role",
    "SinkFactory",
    "SubmittedJob",
    "user_hash",
]
