"""Progress reports from the Stability backends to the job that runs them."""

from __future__ import annotations

import logging

from services.backends.base import ProgressCallback
from services.types import Progress

__all__ = ["report_progress"]

log = logging.getLogger(__name__)


async def report_progress(progress: ProgressCallback | None, update: Progress) -> None:
    """Tell the job how far it got; a failed status message must not fail the job."""
    if progress is None:
        return
    try:
        await progress(update)
    except Exception:
        log.warning("stability.progress_failed", exc_info=True)
