"""The backend plugin contract: what a package under ``services/backends/`` exports so easel can
configure, build and check it without knowing it by name.

A plugin is a name (the ``EASEL_BACKEND`` value), a settings model that declares its public
variables, and a ``build`` function. The composition root (:mod:`bot.app`) looks the
configured name up in :mod:`services.backends.registry` and calls ``build``; settings
validation, ``easel check``, the README's variable table and the tests' list of variables to
clear all read the settings model.

Adding a backend
----------------
1. A package ``services/backends/acme/`` holding the backend and a ``plugin.py``::

    class AcmeSettings(BackendSettings):
        acme_api_key: SecretStr | None = setting("ACME_API_KEY", None, meaning="Acme API key")
        acme_timeout_s: float = setting("ACME_TIMEOUT_S", 60.0, gt=0, meaning="per-request timeout")

        def problems(self) -> list[str]:
            return [] if self.acme_api_key else ["ACME_API_KEY (your Acme API key)"]


    def build(settings: AcmeSettings, context: BackendContext) -> Backend:
        assert settings.acme_api_key is not None  # build runs only when problems() is empty
        return AcmeBackend(settings.acme_api_key, timeout_s=settings.acme_timeout_s, session=context.session)


    PLUGIN = BackendPlugin(name="acme", summary="Acme's image API", settings_model=AcmeSettings, build=build)

2. One line in :data:`services.backends.registry.PLUGINS`.
3. ``python -m bot.readme`` to regenerate the README's variable table (a test fails until then).

Optional capabilities (resuming, credits, host states) are the ``runtime_checkable`` protocols of
:mod:`services.backends.base`: a backend has them by having the methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp

from services.backends.base import Backend
from services.backends.settings import BackendSettings
from services.types import CheckResult

__all__ = ["BackendConfigError", "BackendContext", "BackendPlugin"]

S = TypeVar("S", bound=BackendSettings)


class BackendConfigError(ValueError):
    """The settings given to a backend cannot work; the message names the variable to fix.

    Raised while building a backend (before any request), so the operator reads it at start-up.
    """


@dataclass(frozen=True, slots=True)
class BackendContext:
    """What the process hands every backend it builds, beside the backend's own settings."""

    client_version: str  # easel's version, for User-Agent / client headers
    session: aiohttp.ClientSession | None = None  # a shared session; None: the backend opens its own


@dataclass(frozen=True, slots=True)
class BackendPlugin(Generic[S]):
    """One image service easel can use. See the module docstring for adding one."""

    name: str  # the EASEL_BACKEND value, also Backend.name
    summary: str  # one line for operators
    settings_model: type[S]
    build: Callable[[S, BackendContext], Backend]  # called only when settings.problems() is empty
    aliases: tuple[str, ...] = ()  # other EASEL_BACKEND values that select this plugin

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    async def check(self, settings: S, context: BackendContext) -> list[CheckResult]:
        """``easel check`` lines: build the backend, run its own checks, close it. Never generates.

        Nothing when settings are incomplete: :meth:`BackendSettings.problems` are reported
        as configuration lines instead.
        """
        if settings.problems():
            return []
        try:
            backend = self.build(settings, context)
        except BackendConfigError as exc:
            return [CheckResult("configuration", False, str(exc))]
        await backend.start()
        try:
            return await backend.check()
        finally:
            await backend.close()
