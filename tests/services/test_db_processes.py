"""Quota exactness across processes: several easel processes reserve for the same person at once.

Each child process opens the same database (one SQLite file, or one PostgreSQL database as
several machines would), waits for the word "go", then fires its reservations concurrently.
The database does not exist before they start, so their migrations race as well.
However the transactions interleave, exactly ``LIMIT`` units are granted in all, and the
table holds exactly the granted rows.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from services.db import Database
from services.quota import QuotaBook
from tests.helpers.jobs import ALICE, BOB

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 4
ATTEMPTS = 30  # per process and person
LIMIT = 47

CHILD = r"""
import asyncio, sys
from pathlib import Path

from services.db import Database
from services.errors import QuotaExceeded
from services.quota import QuotaBook
from services.types import Requester


async def main(data_dir, url, name, attempts, limit):
    db = await Database.open(data_dir, url=url)
    book = QuotaBook(db, limit)
    people = [Requester("test", "alice"), Requester("test", "bob")]

    async def one(requester, i):
        try:
            await book.reserve(requester, 1, f"{name}-{requester.user_id}-{i}")
            return 1
        except QuotaExceeded:
            return 0

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    granted = await asyncio.gather(*(one(p, i) for i in range(attempts) for p in people))
    alice = sum(granted[0::2])
    bob = sum(granted[1::2])
    print("granted", alice, bob, flush=True)
    await db.close()


asyncio.run(main(Path(sys.argv[1]), sys.argv[2] or None, sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
"""


async def _start(data_dir: Path, url: str | None, name: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(data_dir), url or "", name, str(ATTEMPTS), str(LIMIT),
        cwd=REPO, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
    assert line.decode().strip() == "ready", line
    return proc


async def test_processes_reserving_at_once_are_granted_exactly_the_limit(
    tmp_path: Path, storage: str | None
) -> None:
    data_dir = tmp_path / "data"
    # No database yet: the children's first opens (and migrations) race too.
    procs = [await _start(data_dir, storage, f"p{i}") for i in range(PROCESSES)]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    totals = [0, 0]
    for proc in procs:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
        assert proc.returncode == 0
        words = out.decode().split()
        assert words[0] == "granted", out
        totals[0] += int(words[1])
        totals[1] += int(words[2])
    assert totals == [LIMIT, LIMIT]  # 4 × 30 = 120 attempts each; never one more, never one less

    db = await Database.open(data_dir, url=storage)
    try:
        book = QuotaBook(db, LIMIT)
        assert (await book.status(ALICE)).used == LIMIT
        assert (await book.status(BOB)).used == LIMIT
        rows = await db.fetchall(
            "SELECT requester_key, COUNT(*) AS n FROM quota_reservations GROUP BY requester_key"
        )
        assert {row["requester_key"]: int(row["n"]) for row in rows} == {ALICE.key: LIMIT, BOB.key: LIMIT}
    finally:
        await db.close()
