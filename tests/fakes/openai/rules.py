"""What OpenAI's images API accepts, written from the API reference (not from easel's code), and
how it refuses: ``{"error": {"message", "type", "param", "code"}}`` bodies.

* models: the ``gpt-image-2`` family takes any ``WxH`` with sides multiples of 16, aspect ratio
  1:3…3:1, at most 3840 px a side and 3840×2160 pixels, at least 655,360 pixels; the other GPT
  image models take 1024x1024, 1536x1024, 1024x1536; all take ``auto``;
* ``n`` 1–10; prompts up to 32,000 characters; ``quality`` low/medium/high/auto (plus xhigh and
  max on ``gpt-image-2.5-*``); ``background=transparent`` needs png or webp output;
* edits: 1–16 images (png, webp or jpeg, < 50 MB), a mask that is a PNG under 4 MB with an alpha
  channel and exactly the first image's size; no ``moderation``; no ``input_fidelity`` on
  ``gpt-image-2``; ``response_format`` is refused for GPT image models;
* unknown parameters are refused (the API is strict).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

MODELS = (
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-flare",
    "gpt-image-1.5",
    "gpt-image-1-mini",
)
STANDARD_SIZES = ("1024x1024", "1536x1024", "1024x1536")
BASE_QUALITIES = ("low", "medium", "high", "auto")
MAX_PROMPT = 32000
MAX_N = 10
MAX_EDIT_IMAGES = 16
MAX_IMAGE_BYTES = 50 * 1024 * 1024
MAX_MASK_BYTES = 4 * 1024 * 1024
GENERATION_PARAMS = frozenset(
    {"prompt", "model", "n", "size", "quality", "background", "moderation", "output_format",
     "output_compression", "response_format", "user", "safety_identifier", "style", "stream", "partial_images"}
)  # fmt: skip
EDIT_PARAMS = frozenset(
    {"prompt", "model", "n", "size", "quality", "background", "output_format", "output_compression",
     "response_format", "user", "safety_identifier", "input_fidelity", "stream", "partial_images"}
)  # fmt: skip
MODERATION_MESSAGE = (
    "Your request was rejected as a result of our safety system. Your request may contain content "
    "that is not allowed by our safety system."
)


class ApiError(Exception):
    """One refusal, as the API words it."""

    def __init__(self, status: int, message: str, *, code: str | None, param: str | None = None,
                 kind: str = "invalid_request_error", headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.kind = status, message, code, param, kind
        self.headers = headers or {}

    def response(self) -> web.Response:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}
        return web.json_response(
            body, status=self.status, headers={"x-request-id": "req_fake", **self.headers}
        )


def invalid(message: str, param: str | None, code: str = "invalid_value") -> ApiError:
    return ApiError(400, message, code=code, param=param)


def flexible(model: str) -> bool:
    return model.startswith("gpt-image-2")


def check_size(model: str, size: str) -> None:
    if size == "auto":
        return
    if not flexible(model):
        if size not in STANDARD_SIZES:
            raise invalid(
                f"Invalid size '{size}'. Supported sizes are {', '.join(STANDARD_SIZES)} and auto.", "size"
            )
        return
    w_text, _, h_text = size.partition("x")
    if not (w_text.isdigit() and h_text.isdigit()):
        raise invalid(f"Invalid size '{size}': expected WIDTHxHEIGHT.", "size")
    w, h = int(w_text), int(h_text)
    if w % 16 or h % 16:
        raise invalid(f"Invalid size '{size}': width and height must be multiples of 16.", "size")
    if max(w, h) > 3840 or w * h > 3840 * 2160:
        raise invalid(f"Invalid size '{size}': the maximum resolution is 3840x2160.", "size")
    if w * h < 655_360:
        raise invalid(f"Invalid size '{size}': at least 655360 pixels are required.", "size")
    if max(w, h) > 3 * min(w, h):
        raise invalid(f"Invalid size '{size}': the aspect ratio must be between 1:3 and 3:1.", "size")


def check_common(fields: dict[str, Any], allowed: frozenset[str], models: tuple[str, ...]) -> tuple[str, int]:
    """The checks generations and edits share; returns ``(model, n)``."""
    for name in fields:
        if name not in allowed:
            raise invalid(f"Unknown parameter: '{name}'.", name, "unknown_parameter")
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise invalid("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter")
    if len(prompt) > MAX_PROMPT:
        raise invalid(
            f"Invalid 'prompt': string too long. Expected at most {MAX_PROMPT} characters.",
            "prompt",
            "string_above_max_length",
        )
    model = str(fields.get("model") or "gpt-image-2")
    if model not in models:
        raise ApiError(
            404,
            f"The model '{model}' does not exist or you do not have access to it.",
            code="model_not_found",
            param="model",
        )
    try:
        n = int(fields.get("n", 1))
    except (TypeError, ValueError):
        raise invalid("Invalid type for 'n': expected an integer.", "n", "invalid_type") from None
    if n < 1:
        raise invalid(
            "Invalid 'n': integer below minimum value. Expected a value >= 1.", "n", "integer_below_min_value"
        )
    if n > MAX_N:
        raise invalid(
            f"Invalid 'n': integer above maximum value. Expected a value <= {MAX_N}.",
            "n",
            "integer_above_max_value",
        )
    if "response_format" in fields:
        raise invalid(
            "Unknown parameter: 'response_format'. GPT image models always return b64_json.",
            "response_format",
            "unknown_parameter",
        )
    quality = fields.get("quality", "auto")
    qualities = BASE_QUALITIES + (("xhigh", "max") if model.startswith("gpt-image-2.5-") else ())
    if quality not in qualities:
        raise invalid(f"Invalid value: '{quality}'. Supported values are: {', '.join(qualities)}.", "quality")
    background = fields.get("background", "auto")
    if background not in ("transparent", "opaque", "auto"):
        raise invalid(f"Invalid value: '{background}'.", "background")
    output_format = fields.get("output_format", "png")
    if output_format not in ("png", "webp", "jpeg"):
        raise invalid(f"Invalid value: '{output_format}'.", "output_format")
    if background == "transparent" and output_format not in ("png", "webp"):
        raise invalid("Transparent background requires output_format png or webp.", "background")
    check_size(model, str(fields.get("size", "auto")))
    return model, n
