"""The Gemini image models plugin (``EASEL_BACKEND=gemini``): its settings and how to build it.

The key keeps the name Google's SDK and docs use (``GEMINI_API_KEY``); easel's choices are
``EASEL_GEMINI_*``. Vertex AI is the other endpoint: ``EASEL_GEMINI_VERTEX_PROJECT`` (with Google
credentials: ``EASEL_GEMINI_VERTEX_CREDENTIALS`` or Application Default Credentials) or
``EASEL_GEMINI_VERTEX_EXPRESS`` (``GEMINI_API_KEY`` is then an express-mode key).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from services.backends.base import Backend
from services.backends.gemini.models import ASPECT_RATIOS, DEFAULT_BASE_URL, DEFAULT_MODEL, DEFAULT_MODELS
from services.backends.gemini.vertex import VertexAI
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
    gemini_vertex_project: str | None = setting(
        "EASEL_GEMINI_VERTEX_PROJECT",
        None,
        meaning="Google Cloud project: Gemini through Vertex AI (Google credentials), not the Gemini API",
    )
    gemini_vertex_location: str | None = setting(
        "EASEL_GEMINI_VERTEX_LOCATION",
        None,
        meaning="Vertex AI location (`global`, `us-central1`, `europe-west4`, …)",
        shown_default="`global`",
    )
    gemini_vertex_credentials: Path | None = setting(
        "EASEL_GEMINI_VERTEX_CREDENTIALS",
        None,
        meaning="Google credentials file for Vertex AI (a service-account key JSON)",
        shown_default="Application Default Credentials",
    )
    gemini_vertex_express: bool = setting(
        "EASEL_GEMINI_VERTEX_EXPRESS",
        False,
        meaning="Vertex AI express mode: `GEMINI_API_KEY` is a Vertex AI API key, no project",
    )
    gemini_vertex_base_url: str | None = setting(
        "EASEL_GEMINI_VERTEX_BASE_URL",
        None,
        meaning="Vertex AI base URL (proxies, Private Service Connect, tests)",
        shown_default="the location's Vertex AI endpoint",
    )

    _split_models = field_validator("gemini_models", mode="before")(split_commas)
    _check_url = field_validator("gemini_base_url")(http_url)

    @field_validator("gemini_vertex_base_url")
    @classmethod
    def _check_vertex_url(cls, value: str | None) -> str | None:
        return http_url(value) if value else None

    @field_validator("gemini_vertex_project", "gemini_vertex_location", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("gemini_vertex_credentials")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("must name an existing file (a service-account key JSON)")
        return value

    @model_validator(mode="after")
    def _one_vertex_way(self) -> GeminiSettings:
        if self.gemini_vertex_project and self.gemini_vertex_express:
            raise ValueError(
                "set EASEL_GEMINI_VERTEX_PROJECT (Google credentials) or EASEL_GEMINI_VERTEX_EXPRESS "
                "(an API key), not both"
            )
        if self.gemini_vertex_project and self.gemini_api_key and self.gemini_api_key.get_secret_value():
            raise ValueError(
                "set EASEL_GEMINI_VERTEX_PROJECT (Vertex AI signs in with Google credentials) or "
                "GEMINI_API_KEY, not both"
            )
        if self.gemini_vertex_express and (self.gemini_vertex_location or self.gemini_vertex_credentials):
            raise ValueError(
                "EASEL_GEMINI_VERTEX_EXPRESS takes no EASEL_GEMINI_VERTEX_LOCATION or "
                "EASEL_GEMINI_VERTEX_CREDENTIALS (express mode has one global endpoint and an API key)"
            )
        unused = [
            env
            for env, value in (
                ("EASEL_GEMINI_VERTEX_LOCATION", self.gemini_vertex_location),
                ("EASEL_GEMINI_VERTEX_CREDENTIALS", self.gemini_vertex_credentials),
                ("EASEL_GEMINI_VERTEX_BASE_URL", self.gemini_vertex_base_url),
            )
            if value
        ]
        if unused and not (self.gemini_vertex_project or self.gemini_vertex_express):
            raise ValueError(
                f"{', '.join(unused)} only apply to Vertex AI: set EASEL_GEMINI_VERTEX_PROJECT "
                "(or EASEL_GEMINI_VERTEX_EXPRESS=true)"
            )
        return self

    def vertex(self) -> VertexAI | None:
        """The Vertex AI endpoint these settings choose; None: the Gemini API."""
        if not (self.gemini_vertex_project or self.gemini_vertex_express):
            return None
        return VertexAI(
            project=self.gemini_vertex_project,
            location=self.gemini_vertex_location or "global",
            credentials_file=self.gemini_vertex_credentials,
            base_url=self.gemini_vertex_base_url,
        )

    def problems(self) -> list[str]:
        if self.gemini_vertex_project or (self.gemini_api_key and self.gemini_api_key.get_secret_value()):
            return []
        if self.gemini_vertex_express:
            return ["GEMINI_API_KEY (your Vertex AI express-mode API key)"]
        return [
            "GEMINI_API_KEY (your Gemini API key from Google AI Studio), or EASEL_GEMINI_VERTEX_PROJECT "
            "for Vertex AI"
        ]


def build(settings: GeminiSettings, context: BackendContext) -> Backend:
    # Imported here, not at the top: the SDK costs ~0.8 s to import, paid only when this backend is used.
    from services.backends.gemini.backend import GeminiImagesBackend

    try:
        return GeminiImagesBackend(
            settings.gemini_api_key.get_secret_value() if settings.gemini_api_key else None,
            vertex=settings.vertex(),
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
    summary="Google's Gemini image models through the Gemini API or Vertex AI (pictures carry SynthID)",
    settings_model=GeminiSettings,
    build=build,
)
