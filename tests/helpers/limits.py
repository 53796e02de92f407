"""BackendLimits the command and image suites parse against: an SDXL-shaped service and a free-size one.

``SDXL`` looks like Stability v1 with an SDXL engine (fixed sizes, style presets); ``FREE`` like a GPU
host (any multiple-of-8 size within bounds, its own samplers and schedulers).
"""

from __future__ import annotations

from services.backends.base import BackendLimits
from services.types import Operation

SDXL_SIZES = (
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
STYLES = (
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
ALL_OPS = frozenset({Operation.IMAGINE, Operation.REMIX, Operation.INPAINT, Operation.UPSCALE})

SDXL = BackendLimits(
    operations=ALL_OPS,
    allowed_sizes=SDXL_SIZES,
    style_presets=STYLES,
    samplers=("DDIM", "K_DPMPP_2M", "K_EULER_ANCESTRAL"),
    models=("stable-diffusion-xl-1024-v1-0", "stable-diffusion-v1-6"),
    upscale_factors=(2,),
)
FREE = BackendLimits(
    operations=ALL_OPS,
    default_size=(512, 512),
    min_side=256,
    max_side=2048,
    size_multiple=8,
    max_pixels=2048 * 2048,
    samplers=("Euler a", "DPM++ 2M Karras"),
    schedulers=("karras", "exponential"),
    upscale_factors=(2, 4),
    supports_negative_weights=False,
)
