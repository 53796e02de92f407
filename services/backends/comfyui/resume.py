"""Picking a ComfyUI job up again after easel restarted: the host kept working, so ask it.

ComfyUI runs a submitted prompt whether or not the client that sent it is still connected, and
keeps the result in ``/history/{prompt_id}``. So each run's prompt id is saved on the job row
right after ``POST /prompt`` (a resume token, :class:`~services.backends.base.ResumableBackend`)::

    token = ResumeToken(first_seed=7, runs=(("http://gpu:8188", "6f96…"),)).dump()
    saved = ResumeToken.load(token)        # None when it is not one of ours (then: start afresh)
    images = await finished_outputs(client, "6f96…", node="9", poll_s=1.0)

``finished_outputs`` returns the run's images once the host has them (waiting while the prompt
is still running or queued there), or None when the host no longer knows it (it restarted, or
the prompt failed or was interrupted): that run alone is generated again. The first seed is
saved too, so the runs generated again keep the seeds the job would have had.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from services.backends.comfyui.client import ComfyClient

__all__ = ["ResumeToken", "finished_outputs"]

_MAX_TOKEN_CHARS = 8192


@dataclass(frozen=True, slots=True)
class ResumeToken:
    """The first seed of a job and, per run so far, the host URL and prompt id it was submitted as."""

    first_seed: int
    runs: tuple[tuple[str, str], ...] = ()

    def dump(self) -> str:
        return json.dumps({"comfyui": 1, "seed": self.first_seed, "runs": [list(r) for r in self.runs]})

    def with_run(self, url: str, prompt_id: str, index: int) -> ResumeToken:
        return ResumeToken(self.first_seed, (*self.runs[:index], (url, prompt_id)))

    @classmethod
    def load(cls, token: str | None) -> ResumeToken | None:
        if not token or len(token) > _MAX_TOKEN_CHARS:
            return None
        try:
            data = json.loads(token)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("comfyui") != 1 or not isinstance(data.get("seed"), int):
            return None
        runs = data.get("runs")
        if not isinstance(runs, list) or not all(
            isinstance(r, list) and len(r) == 2 and all(isinstance(x, str) for x in r) for r in runs
        ):
            return None
        return cls(int(data["seed"]), tuple((str(url), str(pid)) for url, pid in runs))


async def finished_outputs(
    client: ComfyClient, prompt_id: str, *, node: str, poll_s: float
) -> list[bytes] | None:
    """The images of a prompt submitted before the restart, or None if it must run again."""
    while True:
        entry = await client.history(prompt_id)
        if entry is not None:
            status = entry.get("status") or {}
            if status.get("completed") and (entry.get("outputs") or {}).get(node):
                return await client.outputs(prompt_id, node)
            return None  # it failed or was interrupted on the host
        if prompt_id not in await client.queued():
            if await client.history(prompt_id) is not None:
                continue  # it finished between the two questions
            return None  # the host forgot it (restarted): nothing to wait for
        await asyncio.sleep(poll_s)
