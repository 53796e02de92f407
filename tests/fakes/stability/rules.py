"""What Stability's REST API accepts and answers (v1 and v2beta), written down apart from the backend.

The server enforces these; keeping them independent of ``services/backends`` means a wrong constant in
the backend fails a test instead of agreeing with itself.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

# --- the API's rules (from shared/specs) -------------------------------------------------------

ENGINES: tuple[dict[str, str], ...] = (
    {
        "id": "stable-diffusion-xl-1024-v1-0",
        "name": "Stable Diffusion XL v1.0",
        "description": "Stability-AI Stable Diffusion XL v1.0",
        "type": "PICTURE",
    },
    {
        "id": "stable-diffusion-xl-1024-v0-9",
        "name": "Stable Diffusion XL v0.9",
        "description": "Stability-AI Stable Diffusion XL v0.9",
        "type": "PICTURE",
    },
    {
        "id": "stable-diffusion-v1-6",
        "name": "Stable Diffusion v1.6",
        "description": "Stability-AI Stable Diffusion v1.6",
        "type": "PICTURE",
    },
    {
        "id": "esrgan-v1-x2plus",
        "name": "Real-ESRGAN x2",
        "description": "Real-ESRGAN_x2plus upscaler model",
        "type": "PICTURE",
    },
)
SDXL_ALLOWED = frozenset(
    {
        (1024, 1024),
        (1152, 896),
        (896, 1152),
        (1216, 832),
        (832, 1216),
        (1344, 768),
        (768, 1344),
        (1536, 640),
        (640, 1536),
    }
)
SAMPLER_ENUM = frozenset(
    {
        "DDIM",
        "DDPM",
        "K_DPMPP_2M",
        "K_DPMPP_2S_ANCESTRAL",
        "K_DPM_2",
        "K_DPM_2_ANCESTRAL",
        "K_EULER",
        "K_EULER_ANCESTRAL",
        "K_HEUN",
        "K_LMS",
    }
)
# Stable Diffusion 1.6 (Stability's v1 reference for the engine): each side 320–1536, multiples of 64,
# within the pixel band the OpenAPI gives every non-768 engine.
V1_6_SIDES: dict[str, tuple[int, int]] = {"stable-diffusion-v1-6": (320, 1536)}
STYLE_PRESET_ENUM = frozenset(
    "3d-model analog-film anime cinematic comic-book digital-art enhance fantasy-art isometric "
    "line-art low-poly modeling-compound neon-punk origami photographic pixel-art tile-texture".split()
)
CLIP_GUIDANCE_ENUM = frozenset({"FAST_BLUE", "FAST_GREEN", "NONE", "SIMPLE", "SLOW", "SLOWER", "SLOWEST"})
MASK_SOURCE_ENUM = frozenset({"MASK_IMAGE_WHITE", "MASK_IMAGE_BLACK", "INIT_IMAGE_ALPHA"})
MAX_UPSCALE_PIXELS = 4_194_304

_OPTIONAL_PARAMS = frozenset(
    {"cfg_scale", "clip_guidance_preset", "sampler", "samples", "seed", "steps", "style_preset"}
)
_INT_PARAMS = frozenset({"samples", "seed", "steps", "width", "height"})
_FLOAT_PARAMS = frozenset({"cfg_scale", "image_strength", "step_schedule_start", "step_schedule_end"})
_PROMPT_FIELD = re.compile(r"text_prompts\[(\d+)\]\[(text|weight)\]")
_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "permission_denied",
    404: "not_found",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "bad_gateway",
    503: "service_unavailable",
}
_ERROR_MESSAGES = {
    403: "You do not have permission to access this resource",
    429: "You have exceeded the rate limit of 150 requests within a 10 second period.",
    500: "An unexpected server error occurred, please try again.",
    503: "The service is temporarily unavailable, please try again.",
}

# --- v2beta rules (Stability's API reference for Stable Image) ---------------------------------

V2 = "/v2beta/"  # inject(..., path=V2) for faults on v2beta requests

V2_SIZES: dict[str, tuple[int, int]] = {  # aspect_ratio → output size (about 1 megapixel)
    "16:9": (1344, 768),
    "1:1": (1024, 1024),
    "21:9": (1536, 640),
    "2:3": (832, 1216),
    "3:2": (1216, 832),
    "4:5": (896, 1088),
    "5:4": (1088, 896),
    "9:16": (768, 1344),
    "9:21": (640, 1536),
}
# ``(words:weight)`` in a v2beta prompt; Stability's prompting guide defines weights from 0 to 1.
PROMPT_WEIGHT_RE = re.compile(r"\([^():]+:\s*(-?\d+(?:\.\d+)?)\)")
# GET /v2beta/results/{id}: the OpenAPI's Accept values (raw bytes or base64 JSON).
RESULTS_ACCEPT = frozenset({"*/*", "application/json"})
SD3_MODELS = frozenset({"sd3.5-large", "sd3.5-large-turbo", "sd3.5-medium", "sd3.5-flash"})
V2_SEED_MAX = 4_294_967_294
V2_MAX_BODY = 10 * 1024 * 1024
OUTPUT_FORMATS = frozenset({"png", "jpeg", "webp"})
MODERATION_MESSAGE = (
    "Your request was flagged by our content moderation system, as a result your request was denied "
    "and you were not charged."
)


@dataclass(frozen=True)
class _ImageRule:
    min_side: int = 64
    max_side: int | None = None
    min_pixels: int = 4_096
    max_pixels: int = 9_437_184
    aspect: float | None = 2.5  # 1:2.5 .. 2.5:1


_RULE_GENERATE = _ImageRule(aspect=None)
_RULE_EDIT = _ImageRule()
_RULE_INPAINT = _ImageRule(aspect=None)  # the reference sets the 1:2.5–2.5:1 rule for outpaint, not inpaint
_RULE_CUTOUT = _ImageRule(max_pixels=4_194_304)
_RULE_FAST = _ImageRule(min_side=32, max_side=1536, min_pixels=1_024, max_pixels=1_048_576)
_RULE_CREATIVE = _ImageRule(max_pixels=1_048_576)

_V2_ERROR_NAMES = {
    400: "bad_request",
    401: "unauthorized",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    413: "payload_too_large",
    422: "invalid_request",
    429: "rate_limit_exceeded",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
}


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        retry_after: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or _ERROR_MESSAGES.get(status, "request failed")
        self.retry_after = retry_after
        self.name = name

    def response(self, *, v2: bool = False) -> web.Response:
        """v1: ``{"id", "name", "message"}``; v2beta: ``{"id", "name", "errors": [...]}``."""
        body: dict[str, Any] = {"id": uuid.uuid4().hex}
        if v2:
            body["name"] = self.name or _V2_ERROR_NAMES.get(self.status, "error")
            body["errors"] = [self.message]
        else:
            body["name"] = self.name or _ERROR_NAMES.get(self.status, "error")
            body["message"] = self.message
        headers = {"Retry-After": self.retry_after} if self.retry_after is not None else None
        return web.json_response(body, status=self.status, headers=headers)


def _bad(message: str) -> _ApiError:
    return _ApiError(400, message)


# --- validated parameters ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Params:
    prompts: tuple[tuple[str, float], ...]
    samples: int
    seed: int
    values: dict[str, Any]

    @property
    def prompt_key(self) -> str:
        return "|".join(f"{text}:{weight:g}" for text, weight in self.prompts)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_range(name: str, value: Any, lo: float, hi: float, *, integer: bool) -> None:
    if integer and not _is_int(value):
        raise _bad(f"{name}: must be an integer")
    if not integer and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _bad(f"{name}: must be a number")
    if not lo <= value <= hi:
        raise _bad(f"{name}: must be between {lo:g} and {hi:g} (got {value})")


def _from_form(form: dict[str, str], allowed: frozenset[str]) -> dict[str, Any]:
    """Multipart text fields → the JSON-shaped dict the validators read."""
    params: dict[str, Any] = {}
    prompts: dict[int, dict[str, Any]] = {}
    for name, raw in form.items():
        if match := _PROMPT_FIELD.fullmatch(name):
            entry = prompts.setdefault(int(match.group(1)), {})
            if match.group(2) == "text":
                entry["text"] = raw
            else:
                try:
                    entry["weight"] = float(raw)
                except ValueError:
                    raise _bad(f"{name}: must be a number") from None
            continue
        if name not in allowed:
            raise _bad(f"{name}: unknown field")
        try:
            params[name] = int(raw) if name in _INT_PARAMS else float(raw) if name in _FLOAT_PARAMS else raw
        except ValueError:
            raise _bad(f"{name}: must be {'an integer' if name in _INT_PARAMS else 'a number'}") from None
    for index, entry in prompts.items():
        if "text" not in entry:
            raise _bad(f"text_prompts[{index}][text]: is required")
    params["text_prompts"] = [prompts[i] for i in sorted(prompts)]
    return params


def _validate(params: dict[str, Any], *, sdxl: bool) -> _Params:
    prompts = params.get("text_prompts")
    if not isinstance(prompts, list) or not prompts:
        raise _bad("text_prompts: must contain at least one prompt")
    parsed: list[tuple[str, float]] = []
    for i, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or set(prompt) - {"text", "weight"}:
            raise _bad(f"text_prompts[{i}]: must be an object with text and weight")
        text, weight = prompt.get("text"), prompt.get("weight", 1.0)
        if not isinstance(text, str) or not text.strip():
            raise _bad(f"text_prompts[{i}].text: must not be empty")
        if len(text) > 2000:
            raise _bad(f"text_prompts[{i}].text: must be at most 2000 characters")
        if isinstance(weight, bool) or not isinstance(weight, int | float):
            raise _bad(f"text_prompts[{i}].weight: must be a number")
        parsed.append((text, float(weight)))
    samples = params.get("samples", 1)
    _check_range("samples", samples, 1, 10, integer=True)
    seed = params.get("seed", 0)
    _check_range("seed", seed, 0, 4_294_967_295, integer=True)
    if "steps" in params:
        _check_range("steps", params["steps"], 10, 50 if sdxl else 150, integer=True)
    if "cfg_scale" in params:
        _check_range("cfg_scale", params["cfg_scale"], 0, 35, integer=False)
    for name, allowed in (
        ("sampler", SAMPLER_ENUM),
        ("style_preset", STYLE_PRESET_ENUM),
        ("clip_guidance_preset", CLIP_GUIDANCE_ENUM),
    ):
        if name in params and params[name] not in allowed:
            raise _bad(f"{name}: must be one of {', '.join(sorted(allowed))}")
    return _Params(tuple(parsed), samples, seed, params)


def _is_sdxl(engine: str) -> bool:
    return engine.startswith("stable-diffusion-xl-1024-")


def _check_sdxl_size(engine: str, what: str, size: tuple[int, int]) -> None:
    if size not in SDXL_ALLOWED:
        allowed = ", ".join(f"{w}x{h}" for w, h in sorted(SDXL_ALLOWED))
        raise _bad(
            f"invalid_height_or_width: {what} {size[0]}x{size[1]} is not allowed for {engine}; "
            f"allowed dimensions are {allowed}"
        )
