"""GenerationRequest ⇄ JSON, so a queued job survives a restart.

Usage::

    refs = {"init_image": ImageRef.of(request.init_image)}       # or computed by ImageStore
    data = request_to_dict(request, refs)                         # JSON-able, no image bytes
    ...
    wanted = image_refs(data)                                     # {"init_image": ImageRef(...)}
    request = request_from_dict(data, {"init_image": image})      # images loaded from the store

Everything travels by value except input images, which travel as a content address
(sha256 of their PNG bytes) plus their size, so the job row stays small and the
image is stored once however many jobs use it. Pure functions: no I/O here.
:class:`ImageRef` is the store's (:mod:`services.store`); it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.store import ImageRef
from services.types import (
    GenerationRequest,
    InputImage,
    MaskSource,
    Operation,
    OutpaintMargins,
    Requester,
    SourceRef,
    Venue,
    WeightedPrompt,
)

__all__ = [
    "CODEC_VERSION",
    "IMAGE_FIELDS",
    "ImageRef",
    "image_refs",
    "request_from_dict",
    "request_images",
    "request_to_dict",
    "requester_from_dict",
    "requester_to_dict",
]

CODEC_VERSION = 1
IMAGE_FIELDS: tuple[str, ...] = ("init_image", "mask_image")


def request_images(request: GenerationRequest) -> dict[str, InputImage]:
    """The input images of a request by field name (only those present)."""
    found: dict[str, InputImage] = {}
    for name in IMAGE_FIELDS:
        image = getattr(request, name)
        if image is not None:
            found[name] = image
    return found


def request_to_dict(request: GenerationRequest, refs: Mapping[str, ImageRef] | None = None) -> dict[str, Any]:
    """Encode ``request``; input images become references (hashed here if ``refs`` lacks them)."""
    images: dict[str, Any] = {}
    for name, image in request_images(request).items():
        ref = (refs or {}).get(name) or ImageRef.of(image)
        images[name] = ref.to_dict()
    return {
        "v": CODEC_VERSION,
        "operation": request.operation.value,
        "prompts": [{"text": p.text, "weight": p.weight} for p in request.prompts],
        "width": request.width,
        "height": request.height,
        "aspect_ratio": request.aspect_ratio,
        "samples": request.samples,
        "seed": request.seed,
        "steps": request.steps,
        "cfg_scale": request.cfg_scale,
        "style_preset": request.style_preset,
        "sampler": request.sampler,
        "scheduler": request.scheduler,
        "model": request.model,
        "strength": request.strength,
        "mask_source": request.mask_source.value if request.mask_source is not None else None,
        "images": images,
        "upscale_factor": request.upscale_factor,
        "outpaint": (
            {
                "left": request.outpaint.left,
                "right": request.outpaint.right,
                "up": request.outpaint.up,
                "down": request.outpaint.down,
            }
            if request.outpaint is not None
            else None
        ),
        "source": (
            {"job_id": request.source.job_id, "index": request.source.index} if request.source else None
        ),
        "extras": [[k, v] for k, v in request.extras],
    }


def image_refs(data: Mapping[str, Any]) -> dict[str, ImageRef]:
    """The input images an encoded request needs, by field name."""
    images = data.get("images") or {}
    return {name: ImageRef.from_dict(images[name]) for name in IMAGE_FIELDS if name in images}


def request_from_dict(
    data: Mapping[str, Any], images: Mapping[str, InputImage] | None = None
) -> GenerationRequest:
    """Decode a request; ``images`` must hold every field :func:`image_refs` names.

    Raises ``ValueError``/``KeyError`` on a malformed or incomplete document.
    """
    version = int(data.get("v", 0))
    if version != CODEC_VERSION:
        raise ValueError(f"unknown request encoding version {version}")
    images = images or {}
    wanted = image_refs(data)
    missing = set(wanted) - set(images)
    if missing:
        raise KeyError(f"input images not supplied: {', '.join(sorted(missing))}")
    outpaint = data.get("outpaint")
    source = data.get("source")
    mask_source = data.get("mask_source")
    return GenerationRequest(
        operation=Operation(data["operation"]),
        prompts=tuple(WeightedPrompt(str(p["text"]), float(p["weight"])) for p in data.get("prompts", ())),
        width=_opt_int(data.get("width")),
        height=_opt_int(data.get("height")),
        aspect_ratio=data.get("aspect_ratio"),
        samples=int(data.get("samples", 1)),
        seed=_opt_int(data.get("seed")),
        steps=_opt_int(data.get("steps")),
        cfg_scale=_opt_float(data.get("cfg_scale")),
        style_preset=data.get("style_preset"),
        sampler=data.get("sampler"),
        scheduler=data.get("scheduler"),
        model=data.get("model"),
        strength=_opt_float(data.get("strength")),
        mask_source=MaskSource(mask_source) if mask_source is not None else None,
        init_image=images["init_image"] if "init_image" in wanted else None,
        mask_image=images["mask_image"] if "mask_image" in wanted else None,
        upscale_factor=int(data.get("upscale_factor", 2)),
        outpaint=OutpaintMargins(**{k: int(v) for k, v in outpaint.items()}) if outpaint else None,
        source=SourceRef(str(source["job_id"]), int(source["index"])) if source else None,
        extras=tuple((str(k), str(v)) for k, v in data.get("extras", ())),
    )


def requester_to_dict(requester: Requester) -> dict[str, Any]:
    venue = requester.venue
    return {
        "platform": requester.platform,
        "user_id": requester.user_id,
        "display_name": requester.display_name,
        "venue": {
            "server_id": venue.server_id,
            "channel_id": venue.channel_id,
            "role_ids": sorted(venue.role_ids),
            "nsfw": venue.nsfw,
        },
    }


def requester_from_dict(data: Mapping[str, Any]) -> Requester:
    """Rows written before venues existed have none: they decode with an empty :class:`Venue`."""
    raw = data.get("venue") or {}
    venue = Venue(
        server_id=str(raw.get("server_id", "")),
        channel_id=str(raw.get("channel_id", "")),
        role_ids=frozenset(str(r) for r in raw.get("role_ids", ())),
        nsfw=bool(raw.get("nsfw", False)),
    )
    return Requester(str(data["platform"]), str(data["user_id"]), str(data.get("display_name", "")), venue)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
