"""The composition root: builds easel's services from :class:`Settings`.

The backend is whichever plugin ``EASEL_BACKEND`` selects (:mod:`services.backends.registry`);
nothing here knows a backend by name.

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
from functools import cached_property

import aiohttp

from bot import __version__
from bot.errors import SettingsError
from bot.settings import Settings
from services.audit import AuditLog
from services.backends import registry
from services.backends.base import Backend, BackendLimits
from services.backends.catalogue import ModelCatalogue
from services.backends.circuit import CircuitPolicy
from services.backends.costs import Pricing, priced_limits
from services.backends.plugin import BackendConfigError, BackendContext
from services.backends.routing import RoutingBackend
from services.budgets import BudgetBook, Limits
from services.db import Database
from services.jobs import JobService
from services.policy import PolicyBook, PolicyConfig, Rule, RuleError, parse_rule_lines
from services.provenance.credentials import ContentSigner
from services.provenance.instance import resolve_instance_id
from services.provenance.verify import Verifier
from services.quota import QuotaBook
from services.store import ImageStore
from services.stores import BlobStore, open_blob_store
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
    policy: PolicyBook

    @property
    def limits(self) -> BackendLimits:
        return self.backend.limits

    @cached_property
    def models(self) -> ModelCatalogue:
        """What ``/models`` lists: the offers, and which services work now (checks cached per process)."""
        return ModelCatalogue(
            self.backend, plugin=self.settings.backend_names[0], costs=self.settings.model_costs
        )

    @property
    def verifier(self) -> Verifier:
        """Answers ``/verify`` for this installation (its instance id, its job records)."""
        return Verifier(self.watermarker.instance_id, self.jobs.find_job)


def backend_context(session: aiohttp.ClientSession | None = None) -> BackendContext:
    """What every backend this process builds gets beside its settings."""
    return BackendContext(client_version=__version__, session=session)


def build_backend(settings: Settings, session: aiohttp.ClientSession | None = None) -> Backend:
    """The configured backend, not yet started. Raises :class:`SettingsError` naming what is missing."""
    problems = settings.backend_problems()
    if problems:
        raise SettingsError("set " + "; ".join(problems))
    try:
        names = settings.backend_names
        if not settings.routed:
            return registry.get(names[0]).build(settings.settings_of(names[0]), backend_context(session))
        built = {
            name: registry.get(name).build(settings.settings_of(name), backend_context(session))
            for name in names
        }
        return RoutingBackend(
            built,
            default_model=None,
            fallbacks=settings.model_fallbacks,
            costs=settings.model_costs,
            default_models=settings.default_models,
            circuit=CircuitPolicy(settings.circuit_failures, settings.circuit_cooldown_s),
        )
    except BackendConfigError as exc:
        raise SettingsError(str(exc)) from None


def pricing_for(backend: Backend, settings: Settings) -> Pricing:
    """How jobs are charged: the router prices its offers; a single backend is priced alike here."""
    if isinstance(backend, RoutingBackend):
        return Pricing(lambda: backend.limits, settings.tokens_per_unit)
    plugin, costs = settings.backend_names[0], settings.model_costs
    return Pricing(lambda: priced_limits(backend.limits, plugin, costs), settings.tokens_per_unit)


def build_blob_store(settings: Settings) -> BlobStore:
    """The image store ``EASEL_STORE_URL`` names (default: the data dir); connects on first use."""
    return open_blob_store(settings.store_location, settings.data_dir, settings.s3_options())


def budget_book(db: Database, settings: Settings) -> BudgetBook:
    """The community limits: the operator's env defaults, which admins override per server."""
    defaults = Limits(
        person_day=settings.daily_quota,
        server_day=settings.server_daily_units,
        server_month=settings.server_monthly_units,
        concurrent=settings.jobs_per_person,
        cooldown_s=settings.cooldown_s,
    )
    return BudgetBook(db, defaults)


def build_signer(settings: Settings) -> ContentSigner | None:
    """The C2PA signer when ``EASEL_C2PA_CERT`` and ``EASEL_C2PA_KEY`` are set; None when neither is."""
    cert, key = settings.c2pa_cert, settings.c2pa_key
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise SettingsError(
            "EASEL_C2PA_CERT and EASEL_C2PA_KEY: set both to sign content credentials, or neither"
        )
    try:
        return ContentSigner.from_files(
            cert, key, include_prompt=settings.c2pa_include_prompt, version=__version__
        )
    except ValueError as exc:
        raise SettingsError(f"EASEL_C2PA_CERT / EASEL_C2PA_KEY: {exc}") from None


def build_policy_config(settings: Settings) -> PolicyConfig:
    """The operator's global prompt rules, compiled now so a bad one stops the start, named."""
    blocked: list[Rule] = []
    if settings.policy_file is not None:
        try:
            blocked += parse_rule_lines(settings.policy_file.read_text(encoding="utf-8").splitlines())
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(f"EASEL_POLICY_FILE: cannot read {settings.policy_file}: {exc}") from None
    blocked += parse_rule_lines(settings.blocked_words)
    try:
        return PolicyConfig.build(
            blocked=blocked,
            adult=parse_rule_lines(settings.adult_words),
            slack_adult_channels=settings.slack_adult_channels,
        )
    except RuleError as exc:
        raise SettingsError(f"EASEL_POLICY_FILE / EASEL_BLOCKED_WORDS / EASEL_ADULT_WORDS: {exc}") from None


@asynccontextmanager
async def open_services(settings: Settings, *, backend: Backend | None = None) -> AsyncIterator[Services]:
    """Open the database, store, quota book, backend and job service; close them in reverse.

    The job service is built but not started: front ends register their platforms
    first, then the caller runs ``await services.jobs.start()``.
    """
    db = await Database.open(settings.data_dir, url=settings.database)
    store = ImageStore(settings.data_dir, db, build_blob_store(settings))  # connects on first use
    try:
        quota = QuotaBook(db, daily_limit=settings.daily_quota, budgets=budget_book(db, settings))
        policy = PolicyBook(db, AuditLog(db), build_policy_config(settings))
        try:
            watermarker = Watermarker(
                settings.watermark_text,
                settings.watermark_image,
                instance_id=resolve_instance_id(settings.instance_id, settings.data_dir),
                signer=build_signer(settings),
            )
        except ValueError as exc:
            raise SettingsError(f"EASEL_WATERMARK_IMAGE: {exc}") from None
        backend = backend or build_backend(settings)
        await backend.start()
        try:
            jobs = JobService(
                db=db,
                quota=quota,
                store=store,
                backend=backend,
                watermarker=watermarker,
                max_concurrency=settings.max_concurrency,
                gate=policy,
                pricing=pricing_for(backend, settings),
            )
            services = Services(settings, backend, jobs, watermarker, db, store, quota, policy)
            try:
                yield services
            finally:
                await jobs.stop()
        finally:
            await backend.close()
    finally:
        await store.close()
        await db.close()
