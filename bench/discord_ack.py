"""How fast does easel acknowledge a Discord interaction, idle and while many jobs finish?

Measures, at the fake Discord (``tests/fakes/discord.py``), the time from sending
INTERACTION_CREATE on the gateway to the deferred callback (``POST /interactions/…/callback``)
arriving, through the real discord.py ``AutoShardedBot`` and easel's real front end, services,
SQLite, watermark and encoder. Target: p99 ≤ 100 ms while 50 jobs are finishing.

* idle: ``--samples`` /imagine interactions, one every ``--gap-ms``, nothing else running;
* load: ``--jobs`` jobs (1024×1024 photo-like PNGs, ~1.4 MB each, from an in-process backend held
  at a gate) are released together, so they are watermarked, encoded and uploaded to the fake all
  at once; interactions keep arriving every ``--gap-ms`` until the last result is posted.

The measured interactions carry an invalid flag (``--ar nope``): they are acknowledged exactly like
any /imagine (defer first) but queue no work of their own, so the load stays the 50 jobs.

The fake Discord runs in a child process (``--serve-fake``), as Discord is not in easel's process:
its own work (receiving ~70 MB of uploads) does not count against easel, though it still shares
the machine's cores. ``--in-process`` runs it on easel's event loop instead (an upper bound).
Run from the repository root::

    python bench/discord_ack.py
    python bench/discord_ack.py --jobs 50 --samples 200 --gap-ms 20 [--in-process]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import discord  # noqa: E402
from aiohttp import web  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from bot.app import open_services  # noqa: E402
from bot.discord import DiscordFrontend  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.backend import FakeBackend  # noqa: E402
from tests.fakes.discord import FakeDiscord  # noqa: E402

CALLBACK = "/interactions/{id}/{token}/callback"


# ---------------------------------------------------------------------------------------- the fake's side


class FakeControl:
    """Drives a :class:`FakeDiscord` on behalf of the bench (in this process or over HTTP)."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    def info(self) -> dict[str, Any]:
        return {"token": self.fake.token, "api_base": self.fake.api_base, "guild_id": self.fake.guild.id}

    async def dispatch(self, prompt: str, seed: int | None = None) -> int:
        command = self.fake.find_command("imagine")
        options: list[dict[str, Any]] = [{"name": "prompt", "type": 3, "value": prompt}]
        if seed is not None:
            options.append({"name": "seed", "type": 4, "value": seed})
        data = {
            "id": command["id"],
            "name": "imagine",
            "type": 1,
            "guild_id": command["guild_id"],
            "options": options,
        }
        interaction = self.fake.interaction_payload(2, data)
        await self.fake.send_interaction(interaction)
        return interaction.id

    async def acks(self, ids: list[int]) -> list[float]:
        out = []
        for interaction_id in ids:
            call = await self.fake.wait_for_call(
                "POST", CALLBACK, interaction=self.fake.interactions[interaction_id], timeout_s=60
            )
            assert call.t is not None and call.status == 200, (call.status, call.response)
            out.append(call.t)
        return out

    async def settled(self, ids: list[int]) -> None:
        """Wait until the error replies to these (invalid) probes are done: placeholders deleted."""

        def done() -> bool:
            return all(
                (msg := self.fake.messages.get(self.fake.interactions[i].original_message_id or 0))
                is not None
                and msg.deleted
                for i in ids
            )

        await self.fake.wait_until(done, timeout_s=60)

    def results(self) -> dict[str, Any]:
        posted = [m for m in self.fake.channel_messages() if m.files]
        return {
            "messages": len(posted),
            "bytes": sum(len(f.data) for m in posted for f in m.files),
            "violations": self.fake.violations,
        }


async def serve_fake() -> None:
    """Child process: a FakeDiscord plus a small JSON control API; prints its addresses, runs until stdin closes."""
    async with FakeDiscord() as fake:
        control = FakeControl(fake)

        async def handle(request: web.Request) -> web.Response:
            body = await request.json() if request.can_read_body else {}
            op = request.match_info["op"]
            if op == "info":
                result: Any = control.info()
            elif op == "dispatch":
                result = await control.dispatch(body["prompt"], body.get("seed"))
            elif op == "acks":
                result = await control.acks(body["ids"])
            elif op == "settled":
                await control.settled(body["ids"])
                result = None
            elif op == "results":
                result = control.results()
            else:
                raise web.HTTPNotFound()
            return web.json_response(result)

        app = web.Application()
        app.router.add_post("/{op}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        print(json.dumps({"control": f"http://127.0.0.1:{port}"}), flush=True)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, sys.stdin.read)  # the parent closes stdin when done
        await runner.cleanup()


class RemoteControl:
    """The same calls as :class:`FakeControl`, to a child process."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def _call(self, op: str, **body: Any) -> Any:
        async with self.session.post(f"{self.url}/{op}", json=body) as response:
            response.raise_for_status()
            return await response.json()

    async def info(self) -> dict[str, Any]:
        return await self._call("info")  # type: ignore[no-any-return]

    async def dispatch(self, prompt: str, seed: int | None = None) -> int:
        return int(await self._call("dispatch", prompt=prompt, seed=seed))

    async def acks(self, ids: list[int]) -> list[float]:
        return [float(t) for t in await self._call("acks", ids=ids)]

    async def settled(self, ids: list[int]) -> None:
        await self._call("settled", ids=ids)

    async def results(self) -> dict[str, Any]:
        return await self._call("results")  # type: ignore[no-any-return]


class LocalControl:
    def __init__(self, control: FakeControl) -> None:
        self.control = control

    async def info(self) -> dict[str, Any]:
        return self.control.info()

    async def dispatch(self, prompt: str, seed: int | None = None) -> int:
        return await self.control.dispatch(prompt, seed)

    async def acks(self, ids: list[int]) -> list[float]:
        return await self.control.acks(ids)

    async def settled(self, ids: list[int]) -> None:
        await self.control.settled(ids)

    async def results(self) -> dict[str, Any]:
        return self.control.results()


@contextlib.asynccontextmanager
async def fake_discord(in_process: bool) -> AsyncIterator[Any]:
    if in_process:
        async with FakeDiscord() as fake:
            yield LocalControl(FakeControl(fake))
        return
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve-fake",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None and child.stdin is not None
        line = await asyncio.wait_for(child.stdout.readline(), 30)
        url = json.loads(line)["control"]
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
            yield RemoteControl(session, url)
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            await asyncio.wait_for(child.wait(), 10)
        except TimeoutError:
            child.kill()
            await child.wait()


# ---------------------------------------------------------------------------------------- easel's side


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _line(name: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{name:<6} n={len(ms):<4} p50={_percentile(ms, 0.5):7.1f} ms  p99={_percentile(ms, 0.99):7.1f} ms  "
        f"max={max(ms):7.1f} ms  mean={statistics.fmean(ms):7.1f} ms"
    )


async def _wait_results(control: Any, count: int, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while (await control.results())["messages"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} results within {timeout_s:g} s")
        await asyncio.sleep(0.05)


async def run(args: argparse.Namespace) -> None:
    backend = FakeBackend(default_size=(1024, 1024), noise=12.0)
    async with fake_discord(args.in_process) as control:
        info = await control.info()
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(  # type: ignore[call-arg]
                _env_file=None,
                discord_token=info["token"],
                discord_api_base=info["api_base"],
                discord_guild_ids=[info["guild_id"]],
                data_dir=Path(tmp),
                daily_quota=100_000,
                max_concurrency=max(args.jobs, 1),
                stability_api_key=SecretStr("unused"),  # the in-process backend below is used instead
            )
            route_base = discord.http.Route.BASE
            async with open_services(settings, backend=backend) as services:
                frontend = DiscordFrontend(services)
                await services.jobs.start()
                await frontend.start()
                try:
                    # Warm up: the first render (cached by seed), encoders, connections, both event loops.
                    await control.dispatch("warm up", seed=7)
                    await _wait_results(control, 1)
                    warm = [await control.dispatch(f"warm {n} --ar nope") for n in range(5)]
                    await control.acks(warm)

                    idle_ids: list[int] = []
                    for n in range(args.samples):
                        idle_ids.append(await control.dispatch(f"idle probe {n} --ar nope"))
                        await control.acks(idle_ids[-1:])
                        await asyncio.sleep(args.gap_ms / 1000)
                    idle = await control.acks(idle_ids)

                    gate = asyncio.Event()
                    backend.gate = gate
                    for n in range(args.jobs):
                        await control.dispatch(f"job {n}", seed=7)
                    await backend.until_running(args.jobs)
                    started = time.monotonic()
                    gate.set()
                    load_ids: list[int] = []
                    while (await control.results())["messages"] < args.jobs + 1:
                        load_ids.append(await control.dispatch(f"load probe {len(load_ids)} --ar nope"))
                        await asyncio.sleep(args.gap_ms / 1000)
                        if time.monotonic() - started > 120:
                            raise RuntimeError("jobs did not finish within 120 s")
                    drain = time.monotonic() - started
                    load = await control.acks(load_ids)
                    await control.settled([*warm, *idle_ids, *load_ids])
                    results = await control.results()
                finally:
                    await frontend.close()
            discord.http.Route.BASE = route_base

    where = "in this process" if args.in_process else "in a child process"
    print(f"discord ack latency: INTERACTION_CREATE sent → deferred callback received (fake {where})")
    print(_line("idle", idle))
    print(_line("load", load))
    print(
        f"load: {args.jobs} jobs finished in {drain:.2f} s after release "
        f"(watermark + encode + upload; {results['bytes'] / 1e6:.0f} MB posted in all)"
    )
    print(
        f"ratio load/idle: p50 ×{_percentile(load, 0.5) / _percentile(idle, 0.5):.1f}, "
        f"p99 ×{_percentile(load, 0.99) / _percentile(idle, 0.99):.1f}"
    )
    p99 = _percentile(load, 0.99)
    print(f"target p99 ≤ 100 ms under load: {'met' if p99 <= 0.1 else 'NOT met'} ({p99 * 1000:.1f} ms)")
    if results["violations"]:
        print("protocol violations:", *results["violations"], sep="\n  ")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=50, help="jobs finishing at once during the load phase")
    parser.add_argument("--samples", type=int, default=200, help="idle interactions measured")
    parser.add_argument("--gap-ms", type=float, default=20.0, help="pause between measured interactions")
    parser.add_argument(
        "--in-process", action="store_true", help="run the fake Discord on easel's event loop"
    )
    parser.add_argument("--serve-fake", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve_fake() if args.serve_fake else run(args))


if __name__ == "__main__":
    main()
