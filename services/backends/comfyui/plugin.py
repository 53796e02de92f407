"""The ComfyUI plugin (``EASEL_BACKEND=comfyui``): its settings and how to build it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import field_validator
from pydantic_settings import NoDecode

from services.backends.base import Backend
from services.backends.comfyui.backend import ComfyUIBackend
from services.backends.comfyui.workflows import load_workflows
from services.backends.plugin import BackendContext, BackendPlugin
from services.backends.settings import BackendSettings, http_url, setting, split_commas

__all__ = ["PLUGIN", "ComfyUISettings"]


class ComfyUISettings(BackendSettings):
    """The ComfyUI host and the workflows easel runs on it."""

    comfyui_url: Annotated[list[str], NoDecode] = setting(
        "EASEL_COMFYUI_URL",
        default_factory=list,
        meaning="ComfyUI host(s), e.g. `http://gpu-box:8188`; comma list for several (least busy first, failover)",
    )
    comfyui_workflows: Path | None = setting(
        "EASEL_COMFYUI_WORKFLOWS",
        None,
        meaning="folder of your workflows (`<name>.json` in API format + `<name>.easel.json` mapping); "
        "each replaces the shipped one for its operation",
        shown_default="shipped txt2img, img2img, inpaint, outpaint, upscale",
    )
    comfyui_checkpoint: str | None = setting(
        "EASEL_COMFYUI_CHECKPOINT",
        None,
        meaning="default checkpoint (`--model` picks another)",
        shown_default="host's first",
    )
    comfyui_upscale_model: str | None = setting(
        "EASEL_COMFYUI_UPSCALE_MODEL",
        None,
        meaning="upscale model for `/upscale` (a 4x model)",
        shown_default="host's first",
    )
    comfyui_max_side: int = setting(
        "EASEL_COMFYUI_MAX_SIDE",
        2048,
        ge=256,
        le=8192,
        meaning="largest width or height users may ask of ComfyUI",
    )
    comfyui_timeout_s: float = setting(
        "EASEL_COMFYUI_TIMEOUT_S", 600.0, gt=0, meaning="per-request timeout towards ComfyUI"
    )

    @field_validator("comfyui_url", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        split = split_commas(value)
        return [url.rstrip("/") for url in split] if isinstance(split, list) else split

    @field_validator("comfyui_url")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        return [http_url(url) for url in value]

    def problems(self) -> list[str]:
        if self.comfyui_url:
            return []
        return ["EASEL_COMFYUI_URL (e.g. http://gpu-box:8188, your ComfyUI host)"]


def build(settings: ComfyUISettings, context: BackendContext) -> Backend:
    """The backend with the shipped workflows, each replaced by the operator's for its operation."""
    return ComfyUIBackend(
        settings.comfyui_url,
        workflows=load_workflows(settings.comfyui_workflows),  # BackendConfigError names a bad file
        checkpoint=settings.comfyui_checkpoint,
        upscale_model=settings.comfyui_upscale_model,
        max_side=settings.comfyui_max_side,
        timeout_s=settings.comfyui_timeout_s,
        session=context.session,
    )


PLUGIN = BackendPlugin(
    name="comfyui",
    summary="a ComfyUI host running easel's (or your) API-format workflows",
    settings_model=ComfyUISettings,
    build=build,
)
