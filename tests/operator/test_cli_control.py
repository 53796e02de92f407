"""``easel admin pause|resume|queue|cancel`` from the shell act on the running ``easel run`` (issue 10).

The real console scripts as child processes on one data dir: the CLI writes a request to the
database, the running bot answers it within a poll or two (services.jobs.control).
"""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack
from tests.helpers.cli import run_easel
from tests.helpers.operator_run import RunningEasel, run_env

USER = "U0USER0001"


async def test_cli_job_commands_without_a_running_bot_say_so_and_do_nothing(
    stability_server: Any, tmp_path: Path
) -> None:
    env = run_env(tmp_path, stability_server)
    paused = await run_easel("admin", "pause", env=env, cwd=tmp_path, deadline_s=30)
    assert paused.code == 1, paused.stderr
    assert "no running easel answered" in paused.stderr and "Nothing was done." in paused.stderr
    audit = await run_easel("admin", "audit", env=env, cwd=tmp_path, deadline_s=30)
    assert audit.code == 0 and "pause" not in audit.stdout  # withdrawn: never applied later


async def test_pause_queue_resume_and_cancel_take_effect_in_the_running_bot(
    slack_server: FakeSlack, stability_server: Any, tmp_path: Path
) -> None:
    env = run_env(
        tmp_path,
        stability_server,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_server.api_url,
    )
    user = slack_server.user_side(f"http://127.0.0.1:{env['EASEL_SLACK_PORT']}/slack/events")

    async def admin(*words: str) -> tuple[int, str, str]:
        r = await run_easel("admin", *words, env=env, cwd=tmp_path, deadline_s=30)
        return r.code, r.stdout, r.stderr

    async def history() -> str:
        return (await run_easel("history", f"slack:{USER}", env=env, cwd=tmp_path, deadline_s=30)).stdout

    easel = await RunningEasel(env, tmp_path).start()
    try:
        await easel.wait_healthy()
        code, out, err = await admin("pause")
        assert code == 0 and "Generation is paused; queued jobs wait." in out, err
        assert (await user.slash_command("/imagine", "a lighthouse --seed 3")).status == 200
        code, out, _ = await admin("queue")
        while "1. " not in out:  # the job is recorded a moment after the ack
            await asyncio.sleep(0.1)
            code, out, _ = await admin("queue")
        assert code == 0 and f"slack:{USER} (1 images)" in out
        assert stability_server.requests_for("/text-to-image") == []  # paused: nothing started

        code, out, _ = await admin("resume")
        assert code == 0 and "Generation resumed." in out
        await slack_server.wait_for("files.completeUploadExternal", timeout_s=20)

        stability_server.latency_s = 60.0  # the next job stays generating until it is cancelled
        assert (await user.slash_command("/imagine", "a long wait --seed 4")).status == 200
        out = await history()
        while "running" not in out:
            await asyncio.sleep(0.1)
            out = await history()
        match = re.search(r"running\s+/imagine\s+a long wait\s+\(job ([0-9a-f]{8})\)", out)
        assert match, out
        code, out, err = await admin("cancel", match[1])
        assert code == 0 and "its units were refunded" in out, err
        await slack_server.wait_for(
            "response_url", where=lambda c: "cancel" in str(c.params.get("text", "")).lower(), timeout_s=20
        )
        code, _, err = await admin("cancel", "ffffffff")
        assert code == 2 and err.strip(), err  # an unknown job: the bot's own refusal, as exit 2

        code, out, _ = await admin("audit")
        actions = [line.split()[4] for line in out.splitlines()]
        assert actions[:3] == ["cancel", "resume", "pause"] and all(
            line.split()[3].startswith("cli:") for line in out.splitlines()[:3]
        )
        assert easel.proc is not None
        easel.proc.send_signal(signal.SIGTERM)
        assert await easel.wait_exit(deadline_s=20) == 0
    finally:
        stability_server.latency_s = 0.0
        await easel.kill()
    assert "Traceback" not in easel.log()
