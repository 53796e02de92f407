"""The GPU host plugin (``EASEL_BACKEND=gpu-host``, alias ``a1111``): its settings and how to build it.

The public variables keep their ``EASEL_GPU_*`` names (operators have them in ``.env`` files).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode

from services.backends.a1111.backend import A1111Backend
from services.backends.a1111.catalog import DEFAULT_SAMPLER
from services.backends.a1111.wire import PREFERRED_UPSCALERS
from services.backends.base import Backend
from services.backends.plugin import BackendContext, BackendPlugin
from services.backends.settings import BackendSettings, setting, split_commas

__all__ = ["PLUGIN", "A1111Settings"]


class A1111Settings(BackendSettings):
    """One or more AUTOMATIC1111-compatible GPU hosts and how to reach them."""

    gpu_host_url: Annotated[list[str], NoDecode] = setting(
        "EASEL_GPU_HOST_URL",
        default_factory=list,
        meaning="GPU host(s) speaking the AUTOMATIC1111 web UI API (A1111, Forge, SD.Next started with "
        "`--api`); comma list for several",
    )
    gpu_host_auth: SecretStr | None = setting(
        "EASEL_GPU_HOST_AUTH", None, meaning="`user:password` for the web UI's `--api-auth`"
    )
    gpu_host_token: SecretStr | None = setting(
        "EASEL_GPU_HOST_TOKEN", None, meaning="bearer token, for a GPU host behind an authenticating proxy"
    )
    gpu_upscaler: str | None = setting(
        "EASEL_GPU_UPSCALER",
        None,
        meaning="upscaler name for `/upscale` on GPU hosts (see `GET /sdapi/v1/upscalers`)",
        shown_default=(
            f"the first of `{'`, `'.join(PREFERRED_UPSCALERS[:3])}`, … the host offers, else its first "
            "model upscaler, else `Lanczos`"
        ),
    )
    gpu_sampler: str | None = setting(
        "EASEL_GPU_SAMPLER",
        DEFAULT_SAMPLER,
        meaning="sampler sent when a user names none (the API's own default differs from the web UI's)",
    )
    gpu_host_concurrency: int = setting(
        "EASEL_GPU_HOST_CONCURRENCY", 1, ge=1, le=16, meaning="jobs at once per GPU host"
    )
    gpu_timeout_s: float = setting(
        "EASEL_GPU_TIMEOUT_S", 600.0, gt=0, meaning="per-request timeout towards GPU hosts (slow GPUs)"
    )
    gpu_max_side: int = setting(
        "EASEL_GPU_MAX_SIDE",
        2048,
        ge=256,
        le=8192,
        meaning="largest width or height users may ask of a GPU host",
    )

    @field_validator("gpu_host_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        split = split_commas(value)
        return [url.rstrip("/") for url in split] if isinstance(split, list) else split

    @field_validator("gpu_host_url")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} must start with http:// or https://")
        return value

    @field_validator("gpu_host_auth")
    @classmethod
    def _check_auth(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("must look like user:password")
        return value

    @model_validator(mode="after")
    def _auth_one_way(self) -> A1111Settings:
        if self.gpu_host_auth is not None and self.gpu_host_token is not None:
            raise ValueError("set EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN, not both")
        return self

    def problems(self) -> list[str]:
        if self.gpu_host_url:
            return []
        return [
            "EASEL_GPU_HOST_URL (e.g. http://gpu-box:7860, the A1111/Forge/SD.Next web UI started with --api)"
        ]


def build(settings: A1111Settings, context: BackendContext) -> Backend:
    """One backend over every listed host; ``user:password`` becomes basic auth."""
    auth = None
    if settings.gpu_host_auth is not None:
        user, _, password = settings.gpu_host_auth.get_secret_value().partition(":")
        auth = (user, password)
    return A1111Backend(
        settings.gpu_host_url,
        auth=auth,
        token=settings.gpu_host_token.get_secret_value() if settings.gpu_host_token else None,
        upscaler=settings.gpu_upscaler,
        sampler=settings.gpu_sampler,
        per_host_concurrency=settings.gpu_host_concurrency,
        timeout_s=settings.gpu_timeout_s,
        max_side=settings.gpu_max_side,
        session=context.session,
    )


PLUGIN = BackendPlugin(
    name="gpu-host",
    aliases=("a1111",),
    summary="your own GPU host(s) speaking the AUTOMATIC1111 web UI API (A1111, Forge, SD.Next)",
    settings_model=A1111Settings,
    build=build,
)
