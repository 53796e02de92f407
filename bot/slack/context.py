"""What the Slack listeners and job sinks need, and nothing more (not the front end itself)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.admin import SlackAdmins
from bot.slack.files import SlackFileFetcher
from bot.slack.status import StatusTarget, StatusUpdater
from services.backends.base import BackendLimits
from services.backends.catalogue import ModelCatalogue
from services.intake import Intake
from services.jobs import JobService
from services.provenance.verify import Verifier
from services.tasks import BackgroundTasks

__all__ = ["SlackContext"]


@dataclass(frozen=True)
class SlackContext:
    """Shared by one front end's listeners and sinks.

    ``client`` carries the bot token; ``files`` fetches uploads with it; ``bot_user_id`` is known
    once ``auth.test`` has answered; ``tasks`` is the work started after each ack; ``status`` makes
    the private status line of a job or a reply.
    """

    jobs: JobService
    intake: Intake
    limits: Callable[[], BackendLimits]
    client: AsyncWebClient
    files: Callable[[], SlackFileFetcher]
    status: Callable[[StatusTarget], StatusUpdater]
    tasks: BackgroundTasks
    bot_user_id: Callable[[], str | None]
    verifier: Verifier
    admins: SlackAdmins | None = None  # who may use /easel admin (None: nobody)
    models: ModelCatalogue | None = None  # what /models and /easel models list (None: not offered)
