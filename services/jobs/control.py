"""Admin commands for a running ``easel run`` from another process (``easel admin pause|resume|queue|cancel``).

Pausing, the queue and cancelling live in the memory of the process that runs the jobs; the
operator's shell shares only the database with it. So the CLI writes a request row and waits,
and the running process polls the table (one indexed read every :data:`POLL_INTERVAL_S`),
runs each open request through the same admin grammar as ``/easel admin`` in chat (audit entry
included, with the CLI operator as the actor) and writes the answer::

    requests = ControlRequests(db)
    answer = await requests.ask(["pause"], actor="cli:ops", server_id="")   # the CLI; None: nobody answered
    poller = ControlPoller(requests, handle=run_words); task = poller.start()  # easel run

Latency: at most one poll interval (1 s) plus the action itself. A request nobody answers within
the CLI's wait is withdrawn, so a stopped bot never applies it later by surprise; one older
than :data:`STALE_AFTER_S` when a poller first sees it (a CLI killed while waiting) is answered
"expired" and not run. This module owns the ``control_requests`` table (migration 6).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from services.db import Database
from services.errors import EaselError

__all__ = [
    "POLL_INTERVAL_S",
    "STALE_AFTER_S",
    "ControlAnswer",
    "ControlPoller",
    "ControlRequest",
    "ControlRequests",
]

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
STALE_AFTER_S = 30.0
EXPIRED = "This request waited too long for a running easel and was not carried out."


@dataclass(frozen=True, slots=True)
class ControlRequest:
    id: str
    words: tuple[str, ...]
    actor_key: str
    server_id: str
    requested_at: float


@dataclass(frozen=True, slots=True)
class ControlAnswer:
    """The running process's reply; ``ok`` is False when the admin grammar refused the request."""

    text: str
    ok: bool


Handler = Callable[[ControlRequest], Awaitable[str]]
"""Runs one request and returns the reply; raises :class:`EaselError` (its message is the answer)."""


class ControlRequests:
    """All SQL on ``control_requests``: the CLI's side (:meth:`ask`) and the poller's (:meth:`open`, :meth:`answer`)."""

    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    async def submit(self, words: Sequence[str], *, actor: str, server_id: str = "") -> str:
        request_id = uuid.uuid4().hex
        await self.db.execute(
            "INSERT INTO control_requests (id, words_json, actor_key, server_id, requested_at) VALUES (?, ?, ?, ?, ?)",
            (request_id, json.dumps(list(words)), actor, server_id, self._clock()),
        )
        return request_id

    async def answer_of(self, request_id: str) -> ControlAnswer | None:
        row = await self.db.fetchone(
            "SELECT answer, ok FROM control_requests WHERE id = ? AND answered_at IS NOT NULL", (request_id,)
        )
        return ControlAnswer(str(row["answer"]), bool(row["ok"])) if row is not None else None

    async def withdraw(self, request_id: str) -> bool:
        """Take back an unanswered request; False when it was answered meanwhile."""
        return (
            await self.db.execute(
                "DELETE FROM control_requests WHERE id = ? AND answered_at IS NULL", (request_id,)
            )
            > 0
        )

    async def ask(
        self,
        words: Sequence[str],
        *,
        actor: str,
        server_id: str = "",
        timeout_s: float = 5.0,
        poll_s: float = 0.2,
    ) -> ControlAnswer | None:
        """Submit and wait for the running process's answer; None (request withdrawn) when none came."""
        request_id = await self.submit(words, actor=actor, server_id=server_id)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            answer = await self.answer_of(request_id)
            if answer is not None:
                return answer
            await asyncio.sleep(poll_s)
        if await self.withdraw(request_id):
            return None
        return await self.answer_of(request_id)

    async def open(self) -> list[ControlRequest]:
        rows = await self.db.fetchall(
            "SELECT * FROM control_requests WHERE answered_at IS NULL AND answer IS NULL ORDER BY requested_at"
        )
        return [
            ControlRequest(
                row["id"],
                tuple(json.loads(row["words_json"])),
                row["actor_key"],
                row["server_id"],
                row["requested_at"],
            )
            for row in rows
        ]

    async def take(self, request_id: str) -> bool:
        """Become the one process that answers ``request_id`` (several share a PostgreSQL database)."""
        taken = await self.db.execute(
            "UPDATE control_requests SET answer = '' WHERE id = ? AND answered_at IS NULL AND answer IS NULL",
            (request_id,),
        )
        return taken > 0

    async def answer(self, request_id: str, answer: ControlAnswer) -> None:
        await self.db.execute(
            "UPDATE control_requests SET answered_at = ?, answer = ?, ok = ? WHERE id = ? AND answered_at IS NULL",
            (self._clock(), answer.text, int(answer.ok), request_id),
        )


class ControlPoller:
    """In ``easel run``: answer every open request, one poll every ``interval_s``."""

    def __init__(
        self,
        requests: ControlRequests,
        handle: Handler,
        *,
        interval_s: float = POLL_INTERVAL_S,
        stale_after_s: float = STALE_AFTER_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.requests = requests
        self.handle = handle
        self.interval_s = interval_s
        self.stale_after_s = stale_after_s
        self._clock = clock

    def start(self) -> asyncio.Task[None]:
        return asyncio.create_task(self.run(), name="easel-control")

    async def run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except EaselError as exc:  # the database is busy or gone for a moment: try again
                log.warning("control.poll_failed", extra={"error_kind": type(exc).__name__})
            await asyncio.sleep(self.interval_s)

    async def poll_once(self) -> int:
        """Answer what is open now; returns how many requests were answered."""
        answered = 0
        for request in await self.requests.open():
            if await self.requests.take(request.id):  # another easel process may have it already
                await self.requests.answer(request.id, await self._run(request))
                answered += 1
        return answered

    async def _run(self, request: ControlRequest) -> ControlAnswer:
        if self._clock() - request.requested_at > self.stale_after_s:
            return ControlAnswer(EXPIRED, ok=False)
        try:
            text = await self.handle(request)
        except EaselError as error:
            return ControlAnswer(error.user_message, ok=False)
        except Exception:
            log.exception("control.handler_crashed", extra={"words": list(request.words)[:1]})
            return ControlAnswer(EaselError.default_message, ok=False)
        log.info("control.answered", extra={"action": request.words[0] if request.words else ""})
        return ControlAnswer(text, ok=True)


async def stop_poller(task: asyncio.Task[None] | None) -> None:
    """Cancel a poller task started by :meth:`ControlPoller.start` and wait for it to end."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
