"""One v2beta request producing one image, as a value: what to send, where, and what comes back."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import aiohttp

from services.types import FinishReason, GeneratedImage

__all__ = ["FormFile", "V2Call"]


@dataclass(frozen=True, slots=True)
class FormFile:
    """One file part of a multipart body (its file name follows the content type)."""

    field: str
    data: bytes
    content_type: str = "image/png"

    @property
    def filename(self) -> str:
        ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}.get(self.content_type, "bin")
        return f"{self.field}.{ext}"


@dataclass(frozen=True, slots=True)
class V2Call:
    """One HTTP request producing one image, ready to send (and re-send on retries)."""

    operation: str  # "generate core", "inpaint", "upscale-creative", …
    path: str
    model: str  # what GenerationResult.model reports
    expected_size: tuple[int, int]
    fields: tuple[tuple[str, str], ...] = ()
    files: tuple[FormFile, ...] = ()

    def form(self) -> aiohttp.MultipartWriter:
        """A fresh ``multipart/form-data`` body (v2beta takes nothing else, even without files)."""
        form = aiohttp.MultipartWriter("form-data")
        for file in self.files:
            part = form.append(io.BytesIO(file.data), {"Content-Type": file.content_type})
            part.set_content_disposition("form-data", name=file.field, filename=file.filename)
        for name, value in self.fields:
            form.append(value).set_content_disposition("form-data", name=name)
        return form

    @property
    def body_bytes(self) -> int:
        return sum(len(f.data) for f in self.files) + sum(len(n) + len(v) for n, v in self.fields)

    def with_seed(self, seed: int | None) -> V2Call:
        fields = tuple((n, v) for n, v in self.fields if n != "seed")
        if seed:
            fields += (("seed", str(seed)),)
        return replace(self, fields=fields)

    def with_image(self, image: FormFile) -> V2Call:
        """The same call with ``image`` in place of the file part of the same field."""
        return replace(self, files=tuple(image if f.field == image.field else f for f in self.files))

    def empty(self, reason: FinishReason) -> GeneratedImage:
        """The placeholder for an image that did not come back (filtered or failed), at the size asked."""
        w, h = self.expected_size
        return GeneratedImage(png=b"", seed=0, width=w, height=h, finish_reason=reason)
