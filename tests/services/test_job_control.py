"""The control table between the operator's shell and a running easel (services.jobs.control)."""

from __future__ import annotations

import asyncio

from services.db import Database
from services.errors import InvalidRequest
from services.jobs.control import EXPIRED, ControlPoller, ControlRequest, ControlRequests


async def test_a_request_is_answered_by_the_poller_with_the_handlers_words(db: Database) -> None:
    seen: list[tuple[tuple[str, ...], str, str]] = []

    async def handle(request: ControlRequest) -> str:
        seen.append((request.words, request.actor_key, request.server_id))
        if request.words[0] == "cancel":
            raise InvalidRequest("I can't find that job.")
        return "Generation is paused; queued jobs wait."

    requests = ControlRequests(db)
    poller = ControlPoller(requests, handle, interval_s=0.05)
    task = poller.start()
    try:
        answer = await requests.ask(["pause"], actor="cli:ops", server_id="g1", timeout_s=10, poll_s=0.02)
        refused = await requests.ask(["cancel", "ffff"], actor="cli:ops", timeout_s=10, poll_s=0.02)
    finally:
        task.cancel()
    assert answer is not None and answer.ok and answer.text == "Generation is paused; queued jobs wait."
    assert refused is not None and not refused.ok and refused.text == "I can't find that job."
    assert seen == [(("pause",), "cli:ops", "g1"), (("cancel", "ffff"), "cli:ops", "")]
    assert await requests.open() == []


async def test_an_unanswered_request_is_withdrawn_and_never_applied_later(db: Database) -> None:
    requests = ControlRequests(db)
    assert await requests.ask(["pause"], actor="cli:ops", timeout_s=0.2, poll_s=0.05) is None
    assert await requests.open() == []
    ran: list[ControlRequest] = []

    async def handle(request: ControlRequest) -> str:
        ran.append(request)
        return "done"

    assert await ControlPoller(requests, handle).poll_once() == 0
    assert ran == []


async def test_a_request_left_by_a_killed_cli_expires_instead_of_running(db: Database) -> None:
    now = [1000.0]
    requests = ControlRequests(db, clock=lambda: now[0])
    request_id = await requests.submit(["pause"], actor="cli:ops")
    now[0] += 3600  # the bot starts an hour later
    ran: list[ControlRequest] = []

    async def handle(request: ControlRequest) -> str:
        ran.append(request)
        return "paused"

    assert await ControlPoller(requests, handle, clock=lambda: now[0]).poll_once() == 1
    answer = await requests.answer_of(request_id)
    assert ran == [] and answer is not None and not answer.ok and answer.text == EXPIRED


async def test_the_answer_wins_a_race_with_the_withdrawal(db: Database) -> None:
    requests = ControlRequests(db)
    request_id = await requests.submit(["resume"], actor="cli:ops")
    [open_request] = await requests.open()
    await asyncio.sleep(0)
    from services.jobs.control import ControlAnswer

    await requests.answer(open_request.id, ControlAnswer("Generation resumed.", ok=True))
    assert not await requests.withdraw(request_id)  # answered: the CLI reads the answer instead
    answer = await requests.answer_of(request_id)
    assert answer is not None and answer.text == "Generation resumed."
