"""Slack with a GPU host (fake AUTOMATIC1111): live progress in the status line, /describe's text result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.fakes.slack import FakeSlack, slack_easel_for
from tests.helpers.images import png
from tests.helpers.slack_messages import wait_for_results

CHANNEL = "C0CHANNEL1"


async def test_progress_updates_the_status_line_and_describe_posts_text(
    slack_server: FakeSlack,
    slack_settings: Callable[..., Any],
    a1111_factory: Callable[..., Awaitable[Any]],
) -> None:
    gpu = await a1111_factory(generation_s=2.6)
    settings = slack_settings(backend="gpu-host", gpu_host_url=gpu.url)
    async with slack_easel_for(settings, slack_server) as easel:
        await easel.user.slash_command("/imagine", "a foggy pier --seed 3")
        await wait_for_results(slack_server, timeout_s=15)
        await slack_server.wait_for(
            "response_url", where=lambda c: c.params["text"].startswith(":white_check_mark:")
        )
        texts = [c.params["text"] for c in slack_server.calls_to("response_url")]
        assert any("Working on it" in t for t in texts), texts
        assert len(texts) <= 5 and texts[-1].startswith(":white_check_mark:")

        gpu.generation_s = 0.05
        await easel.user.slash_command("/describe")
        [opened] = await slack_server.wait_for("views.open")
        picture = slack_server.add_user_file(png((512, 512)), name="pier.png")
        await easel.user.view_submission(opened.response["view"], {"image": [picture]})
        [posted] = await slack_server.wait_for(
            "chat.postMessage", where=lambda c: "describe" in c.params["text"], timeout_s=15
        )
        assert posted.params["channel"] == CHANNEL
        text = posted.params["text"]
        assert text.startswith("<@U0USER0001> asked me to describe a picture:")
        description = text.splitlines()[1].removeprefix("> ")
        assert description and f"`/imagine {description}`" in text
