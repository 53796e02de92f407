"""What the Discord handlers and job sinks need, and nothing more (not the front end itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.discord.attachments import AttachmentFetcher
from bot.discord.client import EaselBot
from services.backends.base import BackendLimits
from services.intake import Intake
from services.jobs import JobService
from services.provenance.verify import Verifier
from services.tasks import BackgroundTasks

__all__ = ["DiscordContext"]


@dataclass(frozen=True)
class DiscordContext:
    """Shared by one front end's handlers and sinks.

    ``ready`` is set while the bot is connected (sinks of recovered jobs wait for it);
    ``upload_slots`` bounds the results uploading at once. On close, ``tasks`` (handlers under
    way) get a few seconds to answer; ``status_tasks`` (delayed status edits) are cancelled.
    """

    jobs: JobService
    intake: Intake
    limits: Callable[[], BackendLimits]
    bot: EaselBot
    attachments: AttachmentFetcher
    tasks: BackgroundTasks
    status_tasks: BackgroundTasks
    upload_slots: asyncio.Semaphore
    ready: asyncio.Event
    token_lifetime_s: float
    start_timeout_s: float
    verifier: Verifier
    admin_role: str | None = None  # EASEL_DISCORD_ADMIN_ROLE: besides Manage Server, may use /easel admin

    async def wait_ready(self) -> None:
        """Wait until the front end has connected (bounded by its start timeout)."""
        await asyncio.wait_for(self.ready.wait(), self.start_timeout_s)
