"""Stability AI REST v1 wire shapes and the API's published constants.

Raw JSON bodies as :class:`TypedDict`s (the way ``discord/types/`` keeps payloads
apart from domain objects), plus the enums and size rules Stability documents.
Nothing outside :mod:`services.backends` imports this module: the rest of easel
sees :mod:`services.types` and :class:`~services.backends.base.BackendLimits`.

Source: ``shared/specs/stability-v1-openapi.json`` (March 2023) and Stability's
later documentation of SDXL sizes and ``style_preset`` (``shared/specs/README.md``).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

# --- constants ---------------------------------------------------------------------------------

DEFAULT_ENGINE = "stable-diffusion-xl-1024-v1-0"
UPSCALE_ENGINE = "esrgan-v1-x2plus"

#: SDXL 1024 engines (``-v1-0``, ``-v0-9``) accept exactly these sizes (width, height).
SDXL_ENGINE_PREFIX = "stable-diffusion-xl-1024-"
SDXL_SIZES: tuple[tuple[int, int], ...] = (
    (1024, 1024),
    (1152, 896),
    (896, 1152),
    (1216, 832),
    (832, 1216),
    (1344, 768),
    (768, 1344),
    (1536, 640),
    (640, 1536),
)
SDXL_STEPS = (10, 50)

#: Older (512/768-class) engines: sides in multiples of 64, pixel count in a band.
LEGACY_SIZE_MULTIPLE = 64
LEGACY_MAX_PIXELS = 1_048_576
LEGACY_MIN_PIXELS = 262_144  # 589,824 for "768" engines
LEGACY_STEPS = (10, 150)
#: Each side of an older engine's image: 320–1536 (Stability's reference for stable-diffusion-v1-6,
#: which answers ``invalid_height_or_width`` outside it).
LEGACY_SIDES = (320, 1536)

SAMPLES_RANGE = (1, 10)
CFG_SCALE_RANGE = (0.0, 35.0)
SEED_RANGE = (0, 4_294_967_295)
MAX_PROMPT_CHARS = 2000

#: The upscaler's output may not exceed this many pixels (e.g. 2048x2048, 4096x1024).
MAX_UPSCALE_OUTPUT_PIXELS = 4_194_304

SAMPLERS: tuple[str, ...] = (
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
)

STYLE_PRESETS: tuple[str, ...] = (
    "3d-model",
    "analog-film",
    "anime",
    "cinematic",
    "comic-book",
    "digital-art",
    "enhance",
    "fantasy-art",
    "isometric",
    "line-art",
    "low-poly",
    "modeling-compound",
    "neon-punk",
    "origami",
    "photographic",
    "pixel-art",
    "tile-texture",
)

MaskSourceWire = Literal["MASK_IMAGE_WHITE", "MASK_IMAGE_BLACK", "INIT_IMAGE_ALPHA"]
InitImageModeWire = Literal["IMAGE_STRENGTH", "STEP_SCHEDULE"]
FinishReasonWire = Literal["SUCCESS", "ERROR", "CONTENT_FILTERED"]

# --- request bodies ----------------------------------------------------------------------------


class TextPrompt(TypedDict):
    text: str
    weight: float


class TextToImageBody(TypedDict):
    """``POST /v1/generation/{engine_id}/text-to-image`` (JSON)."""

    text_prompts: list[TextPrompt]
    width: int
    height: int
    samples: int
    seed: NotRequired[int]
    steps: NotRequired[int]
    cfg_scale: NotRequired[float]
    sampler: NotRequired[str]
    style_preset: NotRequired[str]


# image-to-image, masking and upscale are multipart/form-data: their fields are built in
# v1_requests.py with the API's flat names (``text_prompts[0][text]``, ``init_image`` …).

# --- response bodies ---------------------------------------------------------------------------


class Artifact(TypedDict):
    base64: str
    seed: int
    finishReason: FinishReasonWire


class GenerationResponse(TypedDict):
    artifacts: list[Artifact]


class Engine(TypedDict):
    id: str
    name: str
    description: str
    type: str  # "PICTURE", …


class ErrorBody(TypedDict):
    id: str
    name: str
    message: str


class BalanceBody(TypedDict):
    credits: float
