"""The Stability AI plugin: its settings (``STABILITY_*``, ``EASEL_STABILITY_*``) and how to build it.

``EASEL_STABILITY_MODEL=sdxl-v1`` (the default) builds the v1 backend on ``STABILITY_ENGINE``;
any stable-image model builds the v2beta backend.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode

from services.backends.base import Backend
from services.backends.plugin import BackendConfigError, BackendContext, BackendPlugin
from services.backends.rate_limit import MAX_SHARING_PROCESSES, shared_budget
from services.backends.settings import BackendSettings, http_url, setting, split_commas
from services.backends.stability import StabilityV1Backend, StabilityV2Backend, known_models

__all__ = ["PLUGIN", "StabilitySettings"]

V1_MODEL = "sdxl-v1"  # the EASEL_STABILITY_MODEL value that selects the v1 API


def _models_markdown() -> str:
    return ", ".join(f"`{m}`" for m in known_models())


class StabilitySettings(BackendSettings):
    """Stability AI's key, host and model choice."""

    stability_api_key: SecretStr | None = setting("STABILITY_API_KEY", None, meaning="Stability AI key")
    stability_api_host: str = setting(
        "STABILITY_API_HOST", "https://api.stability.ai", meaning="Stability REST base URL"
    )
    stability_organization: str | None = setting(
        "STABILITY_ORGANIZATION", None, meaning="sent as the `Organization` header, to bill an organisation"
    )
    stability_model: str = setting(
        "EASEL_STABILITY_MODEL",
        V1_MODEL,
        meaning=f"`{V1_MODEL}` (v1 API, engine below) or a current stable-image model: "
        f"{_models_markdown()} (v2beta API)",
    )
    stability_models: Annotated[list[str], NoDecode] = setting(
        "EASEL_STABILITY_MODELS",
        default_factory=list,
        meaning="comma list of v2beta models users may pick with `--model`",
        shown_default="all of them",
    )
    stability_engine: str = setting(
        "STABILITY_ENGINE",
        "stable-diffusion-xl-1024-v1-0",
        meaning=f"v1 engine used when `EASEL_STABILITY_MODEL={V1_MODEL}`",
    )
    stability_timeout_s: float = setting(
        "STABILITY_TIMEOUT_S", 120.0, gt=0, meaning="per-request timeout towards Stability"
    )
    stability_processes: int = setting(
        "EASEL_STABILITY_PROCESSES",
        1,
        ge=1,
        le=MAX_SHARING_PROCESSES,
        meaning="how many easel processes (gateways and workers) use this Stability key at once; "
        "each keeps to its share of Stability's 150 requests per 10 s",
    )

    _split_models = field_validator("stability_models", mode="before")(split_commas)
    _check_host = field_validator("stability_api_host")(http_url)

    @field_validator("stability_model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        allowed = (V1_MODEL, *known_models())
        if value not in allowed:
            raise ValueError(
                f"{value!r} is not a Stability model easel knows; choose one of: {', '.join(allowed)}"
            )
        return value

    @field_validator("stability_models")
    @classmethod
    def _check_models(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in known_models()]
        if unknown:
            raise ValueError(f"unknown model {unknown[0]!r}; choose from: {', '.join(known_models())}")
        return value

    def problems(self) -> list[str]:
        if self.stability_api_key and self.stability_api_key.get_secret_value():
            return []
        return [
            "STABILITY_API_KEY (your Stability AI key), or EASEL_BACKEND=gpu-host with EASEL_GPU_HOST_URL"
        ]


def build(settings: StabilitySettings, context: BackendContext) -> Backend:
    """The v1 backend for ``sdxl-v1``, else the v2beta backend for the chosen model.

    The Stability modules refuse unusable arguments (a blank key, a key an HTTP header cannot
    carry) with ``ValueError``; that becomes :class:`BackendConfigError`, shown to the operator.
    """
    try:
        return _build(settings, context)
    except ValueError as exc:
        raise BackendConfigError(str(exc)) from None


def _build(settings: StabilitySettings, context: BackendContext) -> Backend:
    assert settings.stability_api_key is not None  # build runs only when problems() is empty
    if settings.stability_model != V1_MODEL:
        return StabilityV2Backend(
            settings.stability_api_key.get_secret_value(),
            host=settings.stability_api_host,
            model=settings.stability_model,
            models=settings.stability_models or None,
            organization=settings.stability_organization,
            client_version=context.client_version,
            timeout_s=settings.stability_timeout_s,
            budget=shared_budget(settings.stability_processes),
            session=context.session,
        )
    return StabilityV1Backend(
        settings.stability_api_key.get_secret_value(),
        host=settings.stability_api_host,
        organization=settings.stability_organization,
        engine=settings.stability_engine,
        client_version=context.client_version,
        timeout_s=settings.stability_timeout_s,
        session=context.session,
        budget=shared_budget(settings.stability_processes),
    )


PLUGIN = BackendPlugin(
    name="stability",
    summary="Stability AI's REST API (SDXL on v1, stable-image models on v2beta)",
    settings_model=StabilitySettings,
    build=build,
)
