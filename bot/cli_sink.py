"""The CLI's :class:`services.jobs.JobSink`: writes published images to ``--out`` and prints them.

The origin of a CLI job holds its output folder and format, so a CLI job recovered
after a crash still lands where the user asked. Only the published (watermarked) copy is
written to ``--out``; the clean original stays in ``EASEL_DATA_DIR/originals``. Queue position
and progress go to stderr through :class:`bot.cli_progress.ProgressDisplay`; results to stdout.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from bot.cli_progress import ProgressDisplay
from commands.replies import made_by_text
from services.errors import EaselError
from services.types import JobOutcome, Operation, Progress, PublishedImage

#: Operations whose images come from no sampling: their "seed" (0) means nothing.
_SEEDLESS = frozenset({Operation.UPSCALE, Operation.CUTOUT})


def _seed(outcome: JobOutcome, image: PublishedImage) -> int | None:
    if outcome.request.operation in _SEEDLESS and outcome.request.seed is None and image.seed == 0:
        return None
    return image.seed


class CliSink:
    def __init__(
        self,
        origin: Mapping[str, Any],
        *,
        out: TextIO | None = None,
        err: TextIO | None = None,
        display: ProgressDisplay | None = None,
    ) -> None:
        self.out_dir = Path(str(origin.get("out_dir", ".")))
        self.as_json = bool(origin.get("json", False))
        self._out = out or sys.stdout
        self._err = err or sys.stderr
        self.display = display or ProgressDisplay(self._err)
        self.written: list[Path] = []

    async def on_queued(self, job_id: str, position: int) -> None:
        self.display.queued(position)

    async def on_started(self, job_id: str) -> None:
        self.display.started()

    async def on_progress(self, job_id: str, progress: Progress) -> None:
        self.display.progress(progress)

    async def deliver(self, outcome: JobOutcome) -> None:
        self.display.clear()
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
                        "seed": _seed(outcome, image),
                        "job_id": outcome.job_id,
                        "backend": outcome.backend,
                        "engine": outcome.model,
                        "width": image.width,
                        "height": image.height,
                    }
                )
            else:
                seed = _seed(outcome, image)
                line = str(path) if seed is None else f"{path}\tseed={seed}"
            print(line, file=self._out, flush=True)
        if outcome.text:
            print(
                json.dumps({"job_id": outcome.job_id, "text": outcome.text})
                if self.as_json
                else outcome.text,
                file=self._out,
                flush=True,
            )
        made_by = made_by_text(outcome.model, outcome.fallback_from)
        if made_by:
            self.display.note(made_by)
        if outcome.filtered:
            self.display.note(
                f"{outcome.filtered} image(s) were withheld by the content filter and not charged"
            )

    async def on_failed(self, job_id: str, error: EaselError) -> None:
        return None  # the CLI prints the error from JobService.wait()
