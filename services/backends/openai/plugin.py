"""The OpenAI-compatible images plugin (``EASEL_BACKEND=openai``): its settings and how to build it.

The key, base URL, organisation and project keep the names the ``openai`` SDK itself reads
(``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID``, ``OPENAI_PROJECT_ID``); easel's own
choices are ``EASEL_OPENAI_*``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode

from services.backends.base import Backend
from services.backends.openai.models import DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_MODELS
from services.backends.plugin import BackendConfigError, BackendContext, BackendPlugin
from services.backends.settings import BackendSettings, http_url, setting, split_commas

__all__ = ["PLUGIN", "OpenAISettings"]


class OpenAISettings(BackendSettings):
    """Which OpenAI-compatible server, key and models; how pictures are asked for."""

    openai_api_key: SecretStr | None = setting(
        "OPENAI_API_KEY", None, meaning="OpenAI (or compatible server) API key"
    )
    openai_base_url: str = setting(
        "OPENAI_BASE_URL",
        DEFAULT_BASE_URL,
        meaning="API base URL: OpenAI, or LocalAI / a LiteLLM-style proxy speaking `/v1/images/*`",
    )
    openai_org_id: str | None = setting("OPENAI_ORG_ID", None, meaning="OpenAI organisation to bill")
    openai_project_id: str | None = setting("OPENAI_PROJECT_ID", None, meaning="OpenAI project to bill")
    openai_model: str = setting(
        "EASEL_OPENAI_MODEL", DEFAULT_MODEL, meaning="default image model (`--model` picks another)"
    )
    openai_models: Annotated[list[str], NoDecode] = setting(
        "EASEL_OPENAI_MODELS",
        default_factory=lambda: list(DEFAULT_MODELS),
        meaning="comma list of models users may pick with `--model`",
        shown_default=", ".join(f"`{m}`" for m in DEFAULT_MODELS),
    )
    openai_sizes: Annotated[list[str], NoDecode] = setting(
        "EASEL_OPENAI_SIZES",
        default_factory=list,
        meaning="comma list of `WxH` sizes for models outside the `gpt-image-2` family, e.g. a compatible "
        "server's (the `gpt-image-2` family takes any multiple of 16)",
        shown_default="`1024x1024`, `1536x1024`, `1024x1536`",
    )
    openai_quality: Literal["auto", "low", "medium", "high", "xhigh", "max"] = setting(
        "EASEL_OPENAI_QUALITY", "auto", meaning="`quality` sent (where the model has it): auto, low … max"
    )
    openai_background: Literal["auto", "opaque", "transparent"] = setting(
        "EASEL_OPENAI_BACKGROUND", "auto", meaning="`background`: auto, opaque or transparent"
    )
    openai_moderation: Literal["auto", "low"] = setting(
        "EASEL_OPENAI_MODERATION", "auto", meaning="`moderation` level of generations: auto or low"
    )
    openai_timeout_s: float = setting(
        "EASEL_OPENAI_TIMEOUT_S", 180.0, gt=0, meaning="per-request timeout towards the images API"
    )

    _split_lists = field_validator("openai_models", "openai_sizes", mode="before")(split_commas)
    _check_url = field_validator("openai_base_url")(http_url)

    @field_validator("openai_sizes")
    @classmethod
    def _check_sizes(cls, value: list[str]) -> list[str]:
        for size in value:
            w, _, h = size.lower().partition("x")
            if not (w.isdigit() and h.isdigit() and int(w) > 0 and int(h) > 0):
                raise ValueError(f"{size!r} is not a size like 1024x1024")
        return value

    def parsed_sizes(self) -> list[tuple[int, int]]:
        return [(int(w), int(h)) for w, _, h in (s.lower().partition("x") for s in self.openai_sizes)]

    def problems(self) -> list[str]:
        if self.openai_api_key and self.openai_api_key.get_secret_value():
            return []
        return ["OPENAI_API_KEY (your OpenAI key, or the compatible server's)"]


def build(settings: OpenAISettings, context: BackendContext) -> Backend:
    """One backend over the SDK's async client; an unusable key is a configuration error."""
    assert settings.openai_api_key is not None  # build runs only when problems() is empty
    # Imported here, not at the top: the SDK costs ~0.8 s to import, paid only when this backend is used.
    from services.backends.openai.backend import OpenAIImagesBackend

    try:
        return OpenAIImagesBackend(
            settings.openai_api_key.get_secret_value(),
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            models=settings.openai_models,
            sizes=settings.parsed_sizes(),
            quality=settings.openai_quality,
            background=settings.openai_background,
            moderation=settings.openai_moderation,
            organization=settings.openai_org_id,
            project=settings.openai_project_id,
            timeout_s=settings.openai_timeout_s,
        )
    except ValueError as exc:
        raise BackendConfigError(str(exc)) from None


PLUGIN = BackendPlugin(
    name="openai",
    summary="OpenAI's images API (gpt-image models) or a compatible server (LocalAI, LiteLLM proxies)",
    settings_model=OpenAISettings,
    build=build,
)
