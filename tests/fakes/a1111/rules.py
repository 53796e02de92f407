"""What an AUTOMATIC1111 host offers and how it refuses: default models, samplers, schedulers,
upscalers, and FastAPI-shaped 422 validation errors.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

DEFAULT_MODELS: tuple[tuple[str, str, str], ...] = (
    # (title, model_name, hash) as /sdapi/v1/sd-models lists them
    ("sd_xl_base_1.0.safetensors [31e35c80fc]", "sd_xl_base_1.0", "31e35c80fc"),
    ("v1-5-pruned-emaonly.safetensors [6ce0161689]", "v1-5-pruned-emaonly", "6ce0161689"),
)
DEFAULT_SAMPLERS = ("DPM++ 2M", "Euler a", "Euler", "DDIM")
DEFAULT_SCHEDULERS = ("automatic", "karras", "exponential")
DEFAULT_UPSCALERS = ("None", "Lanczos", "Nearest", "R-ESRGAN 4x+")
INTERROGATORS = ("clip", "deepdanbooru")
# SD.Next's POST /sdapi/v1/openclip ``model`` (ReqCaption; default "ViT-L-14/openai").
OPENCLIP_MODELS = ("ViT-L-14/openai", "ViT-H-14/laion2b_s32b_b79k")


class _ValidationErrors:
    """Collects FastAPI-shaped validation errors for one request body."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field_name: str, msg: str, kind: str = "value_error") -> None:
        self.items.append({"loc": ["body", field_name], "msg": msg, "type": kind})

    def response(self) -> web.Response | None:
        if not self.items:
            return None
        return web.json_response({"detail": self.items}, status=422)
