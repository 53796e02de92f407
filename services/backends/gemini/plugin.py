"""The Gemini image models plugin (``EASEL_BACKEND=gemini``): its settings and how to build it.

The key keeps the name Google's SDK and docs use (``GEMINI_API_KEY``); easel's choices are
``EASEL_GEMINI_*``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import SecretStr, field_validator
from pydantic_settings import NoDecode

from services.backends.base import Backend
from services.backends.gemini.models import ASPECT_RATIOS, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_MODELS
from services.backends.plugin import BackendConfigError, BackendContext, BackendPlugin
from services.backends.settings import BackendSettings, http_url, setting, split_commas

__all__ = ["PLUGIN", "GeminiSettings"]

Threshold = Literal["BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF"]


class GeminiSettings(BackendSettings):
    """The Gemini API key, endpoint, models and safety threshold."""

    gemini_api_key: SecretStr | None = setting(
        "GEMINI_API_KEY", None, meaning="Gemini API key (Google AI Studio)"
    )
    gemini_base_url: str = setting(
        "EASEL_GEMINI_BASE_URL", DEFAULT_BASE_URL, meaning="Gemini API base URL (proxies, tests)"
    )
    gemini_model: str = setting(
        "EASEL_GEMINI_MODEL", DEFAULT_MODEL, meaning="default Gemini image model (`--model` picks another)"
    )
    gemini_models: Annotated[list[str], NoDecode] = setting(
        "EASEL_GEMINI_MODELS",
        default_factory=lambda: list(DEFAULT_MODELS),
        meaning="comma list of Gemini image models users may pick with `--model`",
        shown_default=", ".join(f"`{m}`" for m in DEFAULT_MODELS),
    )
    gemini_image_size: Literal["1K", "2K", "4K"] = setting(
        "EASEL_GEMINI_IMAGE_SIZE", "1K", meaning="`imageSize` for Gemini 3 image models: 1K, 2K or 4K"
    )
    gemini_safety_threshold: Threshold | None = setting(
        "EASEL_GEMINI_SAFETY_THRESHOLD",
        None,
        meaning="block threshold for the harassment, hate, sexual and dangerous categories "
        "(`BLOCK_LOW_AND_ABOVE` … `BLOCK_NONE`, `OFF`)",
        shown_default="the API's default",
    )
    gemini_timeout_s: float = setting(
        "EASEL_GEMINI_TIMEOUT_S", 180.0, gt=0, meaning="per-request timeout towards the Gemini API"
    )

    _split_models = field_validator("gemini_models", mode="before")(split_commas)
    _check_url = field_validator("gemini_base_url")(http_url)

    def problems(self) -> list[str]:
        if self.gemini_api_key and self.gemini_api_key.get_secret_value():
            return []
        return ["GEMINI_API_KEY (your Gemini API key from Google AI Studio)"]


def build(settings: GeminiSettings, context: BackendContext) -> Backend:
    assert settings.gemini_api_key is not None  # build runs only when problems() is empty
    # Imported here, not at the top: the SDK costs ~0.8 s to import, paid only when this backend is used.
    from services.backends.gemini.backend import GeminiImagesBackend

    try:
        return GeminiImagesBackend(
            settings.gemini_api_key.get_secret_value(),
            base_url=settings.gemini_base_url,
            model=settings.gemini_model,
            models=settings.gemini_models,
            image_size=settings.gemini_image_size,
            safety_threshold=settings.gemini_safety_threshold,
            aspect_ratios=ASPECT_RATIOS,
            timeout_s=settings.gemini_timeout_s,
            session=context.session,
        )
    except ValueError as exc:
        raise BackendConfigError(str(exc)) from None


PLUGIN = BackendPlugin(
    name="gemini",
    summary="Google's Gemini image models through the Gemini API (pictures carry SynthID)",
    settings_model=GeminiSettings,
    build=build,
)
