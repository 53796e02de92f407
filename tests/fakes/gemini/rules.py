"""What the Gemini API's ``generateContent`` accepts for image models, and how it refuses
(``{"error": {"code", "message", "status", "details"}}``, google.rpc style).

* ``x-goog-api-key`` must be a valid key (else 400 ``INVALID_ARGUMENT`` with reason ``API_KEY_INVALID``);
* the model must exist (404 ``NOT_FOUND``);
* unknown fields are refused ("Invalid JSON payload received. Unknown name …");
* ``contents[].parts[]``: ``text`` or ``inlineData`` (png, jpeg, webp, heic, heif; valid base64),
  at most 3 images for ``gemini-2*`` and 14 for later image models;
* ``generationConfig.responseModalities`` ⊆ {TEXT, IMAGE}; ``imageConfig.aspectRatio`` one of the
  listed ratios; ``imageConfig.imageSize`` 1K/2K/4K (upper-case K), not on ``gemini-2*``;
  ``seed`` an int32;
* ``safetySettings[]``: a known category and threshold, each category once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

MODELS = (
    "gemini-3.1-flash-image",
    "gemini-3-pro-image",
    "gemini-3.1-flash-lite-image",
    "gemini-2.5-flash-image",
)
ASPECT_RATIOS = {
    "1:1": (1024, 1024), "2:3": (832, 1248), "3:2": (1248, 832), "3:4": (864, 1184), "4:3": (1184, 864),
    "4:5": (896, 1152), "5:4": (1152, 896), "9:16": (768, 1344), "16:9": (1344, 768), "21:9": (1536, 672),
}  # fmt: skip
IMAGE_SIZES = {"1K": 1, "2K": 2, "4K": 4}
MIME_TYPES = ("image/png", "image/jpeg", "image/webp", "image/heic", "image/heif")
CATEGORIES = (
    "HARM_CATEGORY_HARASSMENT", "HARM_CATEGORY_HATE_SPEECH", "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_DANGEROUS_CONTENT", "HARM_CATEGORY_CIVIC_INTEGRITY",
)  # fmt: skip
THRESHOLDS = ("BLOCK_LOW_AND_ABOVE", "BLOCK_MEDIUM_AND_ABOVE", "BLOCK_ONLY_HIGH", "BLOCK_NONE", "OFF")
REQUEST_FIELDS = {
    "contents",
    "generationConfig",
    "safetySettings",
    "systemInstruction",
    "tools",
    "toolConfig",
}
CONFIG_FIELDS = {
    "responseModalities", "imageConfig", "seed", "candidateCount", "temperature", "topP", "topK",
    "maxOutputTokens", "stopSequences",
}  # fmt: skip
IMAGE_CONFIG_FIELDS = {"aspectRatio", "imageSize"}


class ApiError(Exception):
    def __init__(
        self, code: int, status: str, message: str, details: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.code, self.status, self.message, self.details = code, status, message, details or []

    def response(self) -> web.Response:
        body: dict[str, Any] = {"error": {"code": self.code, "message": self.message, "status": self.status}}
        if self.details:
            body["error"]["details"] = self.details
        return web.json_response(body, status=self.code)


def invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_ARGUMENT", message)


def unknown_fields(obj: dict[str, Any], allowed: set[str], where: str) -> None:
    for name in obj:
        if name not in allowed:
            raise invalid(
                f"Invalid JSON payload received. Unknown name \"{name}\" at '{where}': Cannot find field."
            )


def check_config(model: str, config: Any) -> tuple[str | None, str | None]:
    """``(aspectRatio, imageSize)`` after the checks."""
    if config is None:
        return None, None
    if not isinstance(config, dict):
        raise invalid("Invalid JSON payload received. 'generationConfig' must be an object.")
    unknown_fields(config, CONFIG_FIELDS, "generation_config")
    modalities = config.get("responseModalities", ["TEXT"])
    if not isinstance(modalities, list) or not set(modalities) <= {"TEXT", "IMAGE"}:
        raise invalid(f"Invalid value at 'generation_config.response_modalities': {modalities}")
    seed = config.get("seed")
    if seed is not None and (not isinstance(seed, int) or not -(2**31) <= seed < 2**31):
        raise invalid("Invalid value at 'generation_config.seed' (TYPE_INT32)")
    image = config.get("imageConfig") or {}
    unknown_fields(image, IMAGE_CONFIG_FIELDS, "generation_config.image_config")
    ratio, size = image.get("aspectRatio"), image.get("imageSize")
    if ratio is not None and ratio not in ASPECT_RATIOS:
        raise invalid(f"Unsupported aspect ratio: {ratio}. Supported: {', '.join(ASPECT_RATIOS)}.")
    if size is not None:
        if size not in IMAGE_SIZES:
            raise invalid(f"Unsupported image size: {size}. Use 1K, 2K or 4K.")
        if model.startswith("gemini-2"):
            raise invalid(f"imageSize is not supported by {model}.")
    return ratio, size


def check_safety(settings: Any) -> None:
    if settings is None:
        return
    seen: set[str] = set()
    for item in settings if isinstance(settings, list) else [settings]:
        category, threshold = item.get("category"), item.get("threshold")
        if category not in CATEGORIES:
            raise invalid(f"Invalid value at 'safety_settings.category': {category}")
        if threshold not in THRESHOLDS:
            raise invalid(f"Invalid value at 'safety_settings.threshold': {threshold}")
        if category in seen:
            raise invalid(f"Duplicate safety setting for category {category}.")
        seen.add(category)
