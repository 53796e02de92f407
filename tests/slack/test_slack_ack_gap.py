"""The gap between Slack's acknowledgement and the job row: a restart there tells the person.

A remix from the message shortcut downloads the picture after the form's ack; the fake Slack
holds that download while easel goes down. The next start finds the request recorded at the
ack and tells the person privately that it was not started and nothing was spent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from services.jobs.pending import NOT_STARTED
from tests.fakes.slack import FakeSlack, slack_easel_for
from tests.helpers.images import png
from tests.helpers.waiting import until

OTHER = "U0OTHER002"


def says_not_started(call: Any) -> bool:
    return NOT_STARTED in str(call.params) or NOT_STARTED in call.body.decode("utf-8", "replace")


async def test_restart_during_the_download_tells_the_person_and_spends_nothing(
    slack_server: FakeSlack, slack_settings: Callable[..., Any], stability_server: Any
) -> None:
    settings = slack_settings()
    slack_server.download_gate = asyncio.Event()
    async with slack_easel_for(settings, slack_server) as first:
        picture = slack_server.add_user_file(png((1024, 768)), name="beach.png", user=OTHER)
        await first.user.message_shortcut("easel_image", files=[picture], author=OTHER)
        [opened] = await slack_server.wait_for("views.open")
        await first.user.view_action(opened.response["view"], "easel_pick:remix")
        await slack_server.wait_for("views.update")
        await first.user.view_submission(
            slack_server.views[opened.response["view"]["id"]], {"prompt": "at dusk"}
        )
        await until(lambda: slack_server.downloads_started >= 1, within_s=10)
        rows = await first.services.db.fetchall("SELECT id FROM pending_requests")
        assert len(rows) == 1
    # easel went down mid-download: the request never became a job
    slack_server.download_gate.set()
    async with slack_easel_for(settings, slack_server) as second:
        await until(lambda: any(says_not_started(c) for c in slack_server.calls), within_s=10)
        db = second.services.db
        assert await db.fetchall("SELECT id FROM pending_requests") == []
        assert await db.fetchall("SELECT id FROM jobs") == []
        assert not stability_server.requests_for("/image-to-image")
        told = [c for c in slack_server.calls if says_not_started(c)]
        assert len(told) == 1, told
        assert told[0].method in ("chat.postEphemeral", "response_url"), told[0].method  # privately
