"""Stability AI v2beta (``/v2beta/stable-image/…``) wire constants, endpoint rules and payload shapes.

Nothing outside :mod:`services.backends` imports this module. Sources: Stability's API
reference for Stable Image (generate core/ultra/sd3, edit, upscale, results) and
``shared/specs/README.md``. Every request is ``multipart/form-data``; with
``Accept: image/*`` the answer is the image itself with ``finish-reason`` and ``seed``
headers, with ``Accept: application/json`` it is :class:`ImageBody`. Errors are
:class:`ErrorBody` (``errors`` is a list of ``"field: problem"`` strings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

from services.backends.stability.v1_wire import STYLE_PRESETS

__all__ = [
    "ASPECT_RATIOS",
    "ASPECT_RATIO_SIZES",
    "EDIT_ASPECT_RANGE",
    "ENDPOINTS",
    "GUIDED_UPSCALE_MODES",
    "MAX_OUTPAINT_MARGIN",
    "MAX_PROMPT_CHARS",
    "MAX_PROMPT_WEIGHT",
    "MAX_REQUEST_BYTES",
    "RESULTS_ACCEPT",
    "RESULTS_PATH",
    "SEED_MAX",
    "STYLE_PRESETS",
    "UPSCALE_MODES",
    "ErrorBody",
    "ImageBody",
    "ImageRule",
    "InProgressBody",
    "SubmittedBody",
]

# --- generation ------------------------------------------------------------------------------------

#: The ratios ``aspect_ratio`` accepts (generate endpoints, text-to-image only).
ASPECT_RATIOS: tuple[str, ...] = ("16:9", "1:1", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")

#: About what each ratio renders at (~1 megapixel); the real size is read from the image.
ASPECT_RATIO_SIZES: dict[str, tuple[int, int]] = {
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

SEED_MAX = 4_294_967_294  # v2beta: 0..4294967294, 0 (or absent) = random
MAX_PROMPT_CHARS = 10_000
#: ``(words:weight)`` in a prompt: Stability's prompting guide defines weights from 0 to 1.
MAX_PROMPT_WEIGHT = 1.0
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # the whole multipart body; more is 413

UpscaleMode = Literal["fast", "conservative", "creative"]
UPSCALE_MODES: tuple[UpscaleMode, ...] = ("fast", "conservative", "creative")
#: The modes whose ``prompt`` is required and steers the result (the API reference's "prompt: required").
GUIDED_UPSCALE_MODES: tuple[UpscaleMode, ...] = ("conservative", "creative")


# --- edits and upscales -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageRule:
    """What one endpoint accepts as ``image``: sides, pixel count, aspect ratio."""

    min_side: int = 64
    max_side: int | None = None
    min_pixels: int = 4_096
    max_pixels: int = 9_437_184
    max_aspect: float | None = 2.5  # longest side / shortest side


EDIT_ASPECT_RANGE = 2.5

ENDPOINTS: dict[str, str] = {
    "inpaint": "/v2beta/stable-image/edit/inpaint",
    "outpaint": "/v2beta/stable-image/edit/outpaint",
    "replace": "/v2beta/stable-image/edit/search-and-replace",
    "cutout": "/v2beta/stable-image/edit/remove-background",
    "upscale-fast": "/v2beta/stable-image/upscale/fast",
    "upscale-conservative": "/v2beta/stable-image/upscale/conservative",
    "upscale-creative": "/v2beta/stable-image/upscale/creative",
}
RESULTS_PATH = "/v2beta/results"
#: What ``GET /v2beta/results/{id}`` accepts (the OpenAPI: ``*/*`` for the image bytes, or
#: ``application/json``); ``image/*`` is not among them.
RESULTS_ACCEPT = "*/*"

IMAGE_RULES: dict[str, ImageRule] = {
    "generate": ImageRule(max_aspect=None),
    "inpaint": ImageRule(max_aspect=None),  # the 1:2.5–2.5:1 rule is outpaint's (and others'), not inpaint's
    "outpaint": ImageRule(),
    "replace": ImageRule(),
    "cutout": ImageRule(max_pixels=4_194_304),
    "upscale-fast": ImageRule(min_side=32, max_side=1536, min_pixels=1_024, max_pixels=1_048_576),
    "upscale-conservative": ImageRule(),
    "upscale-creative": ImageRule(max_pixels=1_048_576),
}

GROW_MASK_RANGE: dict[str, tuple[int, int]] = {"inpaint": (0, 100), "replace": (0, 20)}
CREATIVITY_RANGE: dict[str, tuple[float, float]] = {
    "outpaint": (0.0, 1.0),
    "upscale-conservative": (0.2, 0.5),
    "upscale-creative": (0.1, 0.5),
}
MAX_OUTPAINT_MARGIN = 2000
FAST_UPSCALE_FACTOR = 4
CREATIVE_OUTPUT_PIXELS = 4_194_304  # conservative/creative upscale to ~4 megapixels

# --- payloads ---------------------------------------------------------------------------------------

FinishReasonWire = Literal["SUCCESS", "CONTENT_FILTERED"]


class ImageBody(TypedDict):
    """``Accept: application/json`` answer of a finished generation."""

    image: str  # base64
    finish_reason: FinishReasonWire
    seed: NotRequired[int]


class SubmittedBody(TypedDict):
    """Answer of an asynchronous submit (creative upscale): poll ``/v2beta/results/{id}``."""

    id: str


class InProgressBody(TypedDict):
    """``202`` from ``/v2beta/results/{id}`` while the generation runs."""

    id: str
    status: Literal["in-progress"]


class ErrorBody(TypedDict):
    """Every error: ``{"id": "…", "name": "bad_request", "errors": ["prompt: is required"]}``."""

    id: str
    name: str
    errors: list[str]
