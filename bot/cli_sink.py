"""The CLI's :class:`services.jobs.JobSink`: writes published images to ``--out`` and prints them.

The origin of a CLI job holds its output folder and format, so a CLI job recovered
after a crash still lands where the user asked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from services.errors import EaselError
from services.types import JobOutcome, Progress


class CliSink:
    def __init__(
        self, origin: Mapping[str, Any], *, out: TextIO | None = None, err: TextIO | None = None
    ) -> None:
        self.out_dir = Path(str(origin.get("out_dir", ".")))
        self.as_json = bool(origin.get("json", False))
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self.written: list[Path] = []

    async def on_queued(self, job_id: str, position: int) -> None:
        if position > 1:
            print(f"queued: job {job_id[:8]}, position {position}", file=self._err)

    async def on_started(self, job_id: str) -> None:
        return None

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        return None

    async def deliver(self, outcome: JobOutcome) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for image in outcome.images:
            path = self.out_dir / image.filename
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(image.data)
            tmp.replace(path)
            self.written.append(path)
            if self.as_json:
                line = json.dumps(
                    {
                        "path": str(path),
                        "seed": image.seed,
                        "job_id": outcome.job_id,
                        "backend": outcome.backend,
                        "engine": outcome.model,
                        "width": image.width,
                        "height": image.height,
                    }
                )
            else:
                line = f"{path}\tseed={image.seed}"
            print(line, file=self._out, flush=True)
        if outcome.text:
            print(
                json.dumps({"job_id": outcome.job_id, "text": outcome.text})
                if self.as_json
                else outcome.text,
                file=self._out,
                flush=True,
            )
        if outcome.filtered:
            print(
                f"note: {outcome.filtered} image(s) were withheld by the content filter and not charged",
                file=self._err,
            )

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        return None  # the CLI prints the error from JobService.wait()
