"""The composition root: builds easel's services from :class:`Settings`.

Every process shape (``easel run``, the one-shot CLI commands, tests) goes through
:func:`open_services`, so the CLI exercises exactly what the chat front ends use.

::

    async with open_services(settings) as services:
        frontend = DiscordFrontend(services)       # registers its JobSink factory
        await services.jobs.start()                # recovery finds every registered platform
        await frontend.start()
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from bot import __version__
from bot.settings import BackendKind, Settings, SettingsError
from services.backends.base import Backend, BackendLimits
from services.db import Database
from services.jobs import JobService
from services.quota import QuotaBook
from services.store import ImageStore
from services.watermark import Watermarker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    """Everything a front end needs, built once per process."""

    settings: Settings
    backend: Backend
    jobs: JobService
    watermarker: Watermarker
    db: Database
    store: ImageStore
    quota: QuotaBook

    @property
    def limits(self) -> BackendLimits:
        return self.backend.limits


def build_backend(settings: Settings, session: aiohttp.ClientSession | None = None) -> Backend:
    """The configured backend, not yet started. Raises ``ValueError`` naming what is missing."""
    problems = settings.backend_problems()
    if problems:
        raise ValueError("set " + "; ".join(problems))
    if settings.backend is BackendKind.GPU_HOST:
        from services.backends.gpu_pool import GpuHostBackend

        auth = None
        if settings.gpu_host_auth is not None:
            user, _, password = settings.gpu_host_auth.get_secret_value().partition(":")
            auth = (user, password)
        return GpuHostBackend(
            settings.gpu_host_url,
            auth=auth,
            token=settings.gpu_host_token.get_secret_value() if settings.gpu_host_token else None,
            upscaler=settings.gpu_upscaler,
            per_host_concurrency=settings.gpu_host_concurrency,
            timeout_s=settings.gpu_timeout_s,
            max_side=settings.gpu_max_side,
            session=session,
        )
    assert settings.stability_api_key is not None
    if settings.stability_model != "sdxl-v1":
        from services.backends.stability import StabilityV2Backend

        return StabilityV2Backend(
            settings.stability_api_key.get_secret_value(),
            host=settings.stability_api_host,
            model=settings.stability_model,
            models=settings.stability_models or None,
            organization=settings.stability_organization,
            client_version=__version__,
            timeout_s=settings.stability_timeout_s,
            session=session,
        )
    from services.backends.stability import StabilityV1Backend

    return StabilityV1Backend(
        settings.stability_api_key.get_secret_value(),
        host=settings.stability_api_host,
        organization=settings.stability_organization,
        engine=settings.stability_engine,
        client_version=__version__,
        timeout_s=settings.stability_timeout_s,
        session=session,
    )


@asynccontextmanager
async def open_services(settings: Settings, *, backend: Backend | None = None) -> AsyncIterator[Services]:
    """Open the database, store, quota book, backend and job service; close them in reverse.

    The job service is built but not started: front ends register their platforms
    first, then the caller runs ``await services.jobs.start()``.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = await Database.open(settings.data_dir / "easel.sqlite3")
    try:
        store = ImageStore(settings.data_dir, db)
        quota = QuotaBook(db, daily_limit=settings.daily_quota)
        try:
            watermarker = Watermarker(settings.watermark_text, settings.watermark_image)
        except ValueError as exc:
            raise SettingsError(f"EASEL_WATERMARK_IMAGE: {exc}") from None
        try:
            backend = backend or build_backend(settings)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None
        await backend.start()
        try:
            jobs = JobService(
                db=db,
                quota=quota,
                store=store,
                backend=backend,
                watermarker=watermarker,
                max_concurrency=settings.max_concurrency,
            )
            services = Services(settings, backend, jobs, watermarker, db, store, quota)
            try:
                yield services
            finally:
                await jobs.stop()
        finally:
            await backend.close()
    finally:
        await db.close()
