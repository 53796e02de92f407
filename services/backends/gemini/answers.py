"""One ``generateContent`` answer as one easel image: the picture, or a content-filter marker.

Gemini says "blocked" in three ways, all refunded as ``CONTENT_FILTERED``: ``promptFeedback.blockReason``
(the prompt was refused, no candidates), a candidate ``finishReason`` such as ``IMAGE_SAFETY`` or
``PROHIBITED_CONTENT`` (the output was withheld), or an answer with no image part at all
(``NO_IMAGE``, or a text-only refusal).
"""

from __future__ import annotations

from google.genai import types

from services.backends.originals import original_from
from services.types import FinishReason, GeneratedImage

__all__ = ["FILTERED_FINISH_REASONS", "read_image"]

FILTERED_FINISH_REASONS = frozenset(
    {"SAFETY", "IMAGE_SAFETY", "PROHIBITED_CONTENT", "IMAGE_PROHIBITED_CONTENT", "BLOCKLIST", "SPII",
     "RECITATION", "IMAGE_RECITATION", "IMAGE_OTHER", "NO_IMAGE", "MODEL_ARMOR"}
)  # fmt: skip


def blocked_reason(response: types.GenerateContentResponse) -> str | None:
    """Why Gemini withheld the picture (``"PROHIBITED_CONTENT"``…), or None when it sent one."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        return str(feedback.block_reason.value)
    candidates = response.candidates or []
    if not candidates:
        return "NO_CANDIDATES"
    reason = candidates[0].finish_reason
    if reason is not None and reason.value in FILTERED_FINISH_REASONS:
        return str(reason.value)
    if _image_bytes(response) is None:
        return "NO_IMAGE"
    return None


def _image_bytes(response: types.GenerateContentResponse) -> bytes | None:
    candidates = response.candidates or []
    content = candidates[0].content if candidates else None
    for part in (content.parts if content is not None else None) or ():
        blob = part.inline_data
        if blob is not None and blob.data and str(blob.mime_type or "").startswith("image/"):
            return blob.data
    return None


def read_image(response: types.GenerateContentResponse, seed: int) -> GeneratedImage:
    """The answer's image as a PNG original (CPU work: call it off the event loop)."""
    if blocked_reason(response) is not None:
        return GeneratedImage(
            png=b"", seed=seed, width=0, height=0, finish_reason=FinishReason.CONTENT_FILTERED
        )
    raw = _image_bytes(response)
    assert raw is not None
    return original_from(raw, seed, backend="gemini")
