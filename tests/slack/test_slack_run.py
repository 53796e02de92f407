"""``easel run`` with Slack configured serves Slack on EASEL_SLACK_PORT (the lead's runner, our front end)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from bot.runner import serve
from tests.fakes.slack import FakeSlack
from tests.helpers.network import free_port
from tests.helpers.slack_messages import wait_for_results


async def test_easel_run_answers_slack_on_its_port(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    port = free_port()
    stop = asyncio.Event()
    running = asyncio.create_task(serve(slack_settings(slack_port=port), stop=stop))
    try:
        await slack_server.wait_for("auth.test")
        user = slack_server.user_side(f"http://127.0.0.1:{port}/slack/events")
        async with asyncio.timeout(5):
            while True:
                try:
                    sent = await user.slash_command("/easel", "help")
                    break
                except OSError:  # the runner binds the port right after auth.test
                    await asyncio.sleep(0.05)
        assert sent.status == 200 and sent.json["response_type"] == "ephemeral"
        await user.slash_command("/imagine", "a tiny boat --seed 2")
        await wait_for_results(slack_server)
    finally:
        stop.set()
        await asyncio.wait_for(running, 15)
