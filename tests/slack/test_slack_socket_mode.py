"""Socket Mode (``SLACK_APP_TOKEN``): the same app over a websocket instead of an HTTP endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.fakes.slack import APP_TOKEN, FakeSlack, slack_easel_for
from tests.helpers.slack_messages import wait_for_results


async def test_socket_mode_runs_commands_and_drops_retried_envelopes(
    slack_server: FakeSlack, slack_settings: Callable[..., Any]
) -> None:
    settings = slack_settings(slack_app_token=APP_TOKEN, slack_signing_secret=None)
    async with slack_easel_for(settings, slack_server) as easel:
        [opened] = slack_server.calls_to("apps.connections.open")
        assert opened.token == APP_TOKEN  # the app-level token opens the socket, not the bot token
        assert easel.frontend.port == 0  # no HTTP listener in Socket Mode

        payload = slack_server.slash_command_payload("/imagine", "a lantern in fog --seed 4")
        ack, elapsed = await slack_server.send_envelope("slash_commands", payload)
        assert elapsed < 3.0 and not ack  # an empty ack: the status follows via the response URL
        again, _ = await slack_server.send_envelope("slash_commands", payload, retry_attempt=1)
        assert again in (None, {}, "")

        [done] = await slack_server.wait_for("files.completeUploadExternal")
        assert done.params["channel_id"] == payload["channel_id"]
        [result] = await wait_for_results(slack_server)
        assert "seed `4`" in result.summary and result.card.channel == payload["channel_id"]
        assert easel.services.jobs.stats().submitted == 1

        help_ack, _ = await slack_server.send_envelope(
            "slash_commands", slack_server.slash_command_payload("/easel", "help")
        )
        assert help_ack["response_type"] == "ephemeral" and help_ack["blocks"]
