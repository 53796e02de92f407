"""How fast does easel acknowledge Slack, idle and while many jobs finish?

Slack gives an app 3 seconds to answer a slash command or a button click; easel aims for far
less so a busy moment never shows "operation_timeout" to anyone. This runs the real Slack front
end (slack-bolt, signature check, retry de-duplication, the job service, SQLite, watermarking,
``files_upload_v2``) in this process and, in a child process, the fake Slack from
``tests/fakes/slack.py``: it receives the uploads and sends correctly signed requests to
``/slack/events``, timing each one from send to HTTP answer.

1. idle: ``--samples`` sequential ``/quota`` commands (acked, then answered in the background);
2. load: ``--jobs`` users each send ``/imagine`` at once, and while those jobs finish (images
   stamped, stored and uploaded to the fake Slack) ``/quota`` commands keep going every
   ``--interval-ms`` until the last upload lands.

The image service is the in-process fake (``tests/fakes/backend.py``) returning the same
photo-like 1024×1024 PNG for every job (rendered once), so the load is easel's own per-job work:
decoding, watermarking and encoding ~2 MB PNGs, storing originals, uploading. Prints p50/p99 of
both phases and the ratio; the target is p99 ≤ 100 ms under load. Run from the repository root::

    python bench/slack_ack.py                  # 50 jobs, 60 idle samples
    python bench/slack_ack.py --jobs 20 --samples 100 --interval-ms 10
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app import open_services  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack import SlackFrontend  # noqa: E402
from tests.fakes.backend import FakeBackend  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, FakeSlack  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# ---------------------------------------------------------------------------- Slack's side (child)


def slack_side(conn: Connection, jobs: int, samples: int, interval_s: float) -> None:
    asyncio.run(_slack_side(conn, jobs, samples, interval_s))


async def _slack_side(conn: Connection, jobs: int, samples: int, interval_s: float) -> None:
    import aiohttp

    fake = FakeSlack()
    await fake.start()
    conn.send(fake.api_url)
    loop = asyncio.get_running_loop()
    endpoint: str = await loop.run_in_executor(None, conn.recv)
    user = fake.user_side(endpoint, SIGNING_SECRET)
    async with aiohttp.ClientSession() as session:
        user.session = session
        for _ in range(5):  # warm-up: connections, caches, first SQLite reads
            await user.slash_command("/quota", user_id="U0WARMUP01")
        idle: list[float] = []
        for _ in range(samples):
            sent = await user.slash_command("/quota", user_id="U0IDLE0001")
            assert sent.status == 200, sent
            idle.append(sent.elapsed_s)
            await asyncio.sleep(interval_s)

        started = time.monotonic()
        burst = await asyncio.gather(
            *(
                user.slash_command("/imagine", "a lighthouse in a storm --seed 7", user_id=f"U0BENCH{n:04d}")
                for n in range(jobs)
            )
        )
        assert all(s.status == 200 for s in burst), [s.status for s in burst if s.status != 200]
        loaded: list[float] = []
        while len([c for c in fake.calls_to("files.completeUploadExternal") if c.ok]) < jobs:
            sent = await user.slash_command("/quota", user_id="U0LOAD0001")
            assert sent.status == 200, sent
            loaded.append(sent.elapsed_s)
            await asyncio.sleep(interval_s)
        finished_s = time.monotonic() - started
    conn.send(
        {
            "idle": idle,
            "loaded": loaded,
            "burst": [s.elapsed_s for s in burst],
            "finished_s": finished_s,
            "uploads": len(fake.uploaded_files()),
        }
    )
    await fake.close()


# ---------------------------------------------------------------------------- easel (this process)


async def easel_side(conn: Connection, data_dir: Path) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    api_url: str = await loop.run_in_executor(None, conn.recv)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=api_url,
        slack_port=0,
        data_dir=data_dir,
        daily_quota=1000,
        stability_api_key="unused-by-the-fake-backend",
    )
    backend = FakeBackend(default_size=(1024, 1024), noise=12.0)
    async with open_services(settings, backend=backend) as services:
        frontend = SlackFrontend(services, host="127.0.0.1", port=0)
        await services.jobs.start()
        await frontend.start()
        try:
            conn.send(f"http://127.0.0.1:{frontend.port}/slack/events")
            result: dict[str, Any] = await loop.run_in_executor(None, conn.recv)
        finally:
            await services.jobs.stop()
            await frontend.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50, help="jobs finishing during the loaded phase")
    parser.add_argument("--samples", type=int, default=60, help="idle /quota requests")
    parser.add_argument("--interval-ms", type=float, default=20.0, help="pause between timed requests")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=slack_side, args=(child, args.jobs, args.samples, args.interval_ms / 1000))
    proc.start()
    try:
        with tempfile.TemporaryDirectory(prefix="easel-bench-") as tmp:
            result = asyncio.run(easel_side(parent, Path(tmp)))
    finally:
        proc.join(timeout=30)
        if proc.is_alive():
            proc.terminate()

    idle_ms = [s * 1000 for s in result["idle"]]
    loaded_ms = [s * 1000 for s in result["loaded"]]
    burst_ms = [s * 1000 for s in result["burst"]]
    p50_i, p99_i = percentile(idle_ms, 50), percentile(idle_ms, 99)
    p50_l, p99_l = percentile(loaded_ms, 50), percentile(loaded_ms, 99)
    print(f"Slack HTTP ack latency ({args.jobs} jobs, photo-like 1024x1024 PNGs, watermark + upload)")
    print(
        f"  idle   /quota     n={len(idle_ms):4d}  p50 {p50_i:6.1f} ms  p99 {p99_i:6.1f} ms  max {max(idle_ms):6.1f} ms"
    )
    print(
        f"  loaded /quota     n={len(loaded_ms):4d}  p50 {p50_l:6.1f} ms  p99 {p99_l:6.1f} ms  "
        f"max {max(loaded_ms):6.1f} ms  (while {args.jobs} jobs finished in {result['finished_s']:.1f} s)"
    )
    print(
        f"  burst  /imagine   n={len(burst_ms):4d}  p50 {percentile(burst_ms, 50):6.1f} ms  "
        f"p99 {percentile(burst_ms, 99):6.1f} ms  ({args.jobs} users at the same instant)"
    )
    print(f"  ratio loaded/idle: p50 {p50_l / p50_i:.2f}x  p99 {p99_l / p99_i:.2f}x")
    print(
        f"  target p99 <= 100 ms under load: {'met' if p99_l <= 100 else 'NOT met'}  (mean {statistics.fmean(loaded_ms):.1f} ms)"
    )
    print(f"  uploads received by the fake Slack: {result['uploads']}")


if __name__ == "__main__":
    main()
