"""One gateway and three workers on one PostgreSQL database, workers killed with ``kill -9`` (issue 15).

300 ``/imagine`` jobs from 30 people (10 each, their whole daily quota) go in through the
gateway's Slack endpoint as signed slash commands; the workers run them against the fake
Stability server and post the results to the fake Slack. Meanwhile random workers are killed
with SIGKILL and started again. What :mod:`services.jobs` promises, asserted exactly:

* nothing lost: every accepted job is ``done`` and its picture is in the channel;
* posted at most twice, and twice only for a job a killed worker was delivering (its originals
  were stored, the job is re-published from the store): at most ``max_concurrency`` per kill;
* never charged twice, quotas exact: every job's reservation committed once for its one image,
  each person's committed units are exactly 10 in ``quota_reservations``, none left reserved,
  and an 11th request is refused.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from tests.fakes.slack import FakeSlack
from tests.helpers.cluster import Cluster
from tests.helpers.waiting import until

PEOPLE = 30
PER_PERSON = 10
JOBS = PEOPLE * PER_PERSON
MAX_CONCURRENCY = 2  # per worker
KILLS = 4
_RESULT_FILE = re.compile(r"^easel-([0-9a-f]+)-\d+\.png$")


def person(k: int) -> str:
    return f"U0PERSON{k:02d}"


def posts_per_job(slack: FakeSlack) -> Counter[str]:
    """How many times each job's picture was posted (one upload per post, one image per job)."""
    return Counter(m[1] for f in slack.files.values() if f.completed and (m := _RESULT_FILE.match(f.name)))


async def submit_everything(cluster: Cluster) -> None:
    """Ten rounds: each person asks once per round, all at once, as busy channels do."""
    user = cluster.user
    for round_ in range(PER_PERSON):
        sent = await asyncio.gather(
            *(
                user.slash_command("/imagine", f"a lighthouse, take {round_} --seed {k}", user_id=person(k))
                for k in range(PEOPLE)
            )
        )
        assert all(s.status == 200 and s.elapsed_s < 3 for s in sent), sent


async def kill_workers(cluster: Cluster, slack: FakeSlack, rng: random.Random) -> int:
    """Kill -9 a random worker every second or so while results are still coming, restart it."""
    kills = 0
    while kills < KILLS and len(posts_per_job(slack)) < JOBS * 0.9:
        await asyncio.sleep(rng.uniform(0.5, 1.5))
        index = rng.randrange(len(cluster.workers))
        await cluster.kill_worker(index)
        kills += 1
        await cluster.restart_worker(index)
    return kills


async def test_300_jobs_survive_killed_workers_exactly_once_charged(
    stability_server: Any, slack_server: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    cluster = Cluster(
        tmp_path,
        database_url,
        stability_server,
        slack_server,
        EASEL_DAILY_QUOTA=str(PER_PERSON),
        EASEL_MAX_CONCURRENCY=str(MAX_CONCURRENCY),
        EASEL_LOG_LEVEL="WARNING",
    )
    try:
        await cluster.start_gateway()
        await cluster.start_workers(3)
        killing = asyncio.create_task(kill_workers(cluster, slack_server, random.Random(15)))
        await submit_everything(cluster)
        kills = await killing
        try:
            await until(lambda: len(posts_per_job(slack_server)) >= JOBS, within_s=120)
        except AssertionError:
            raise AssertionError(
                f"{len(posts_per_job(slack_server))} of {JOBS} posted\n{cluster.logs()}"
            ) from None

        conn = await asyncpg.connect(database_url)
        try:
            jobs = await conn.fetch("SELECT id, requester_key, status, reservation_id FROM jobs")
            reservations = await conn.fetch(
                "SELECT id, requester_key, units, charged, state FROM quota_reservations"
            )
        finally:
            await conn.close()
        # Nothing lost: every job accepted is done and posted.
        assert len(jobs) == JOBS
        assert Counter(row["status"] for row in jobs) == {"done": JOBS}
        posts = posts_per_job(slack_server)
        assert set(posts) == {row["id"] for row in jobs}
        # Re-posted only after a kill during delivery, at most once.
        twice = [job for job, n in posts.items() if n > 1]
        assert max(posts.values()) <= 2, posts.most_common(3)
        assert len(twice) <= kills * MAX_CONCURRENCY, twice
        # Never charged twice: one committed reservation per job, one unit each, exactly 10 a person.
        assert Counter(row["state"] for row in reservations) == {"committed": JOBS}
        assert {row["reservation_id"] for row in jobs} == {row["id"] for row in reservations}
        assert all(row["units"] == row["charged"] == 1 for row in reservations)
        per_person: Counter[str] = Counter()
        for row in reservations:
            per_person[row["requester_key"]] += row["charged"]
        assert per_person == {f"slack:{person(k)}": PER_PERSON for k in range(PEOPLE)}
        # Exact means no eleventh picture either.
        before = len(slack_server.files)
        refused = await cluster.user.slash_command("/imagine", "one more", user_id=person(0))
        [reply] = await slack_server.wait_for(
            "response_url", where=lambda c: c.params.get("_rid") == refused.response_url.rsplit("/", 1)[1]
        )
        assert f"You have 0 of your {PER_PERSON} daily units left" in str(reply.params.get("text", ""))
        await asyncio.sleep(1)
        assert len(slack_server.files) == before
    finally:
        await cluster.close()
