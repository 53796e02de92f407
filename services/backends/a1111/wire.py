"""Wire shapes of the AUTOMATIC1111 web UI API (A1111, Forge, SD.Next) and pure mappings.

Everything here is JSON in, JSON out, with no I/O, so the mapping from easel's
:class:`~services.types.GenerationRequest` to A1111 fields can be read (and tested) in
one place. The HTTP client is :mod:`.client`, request bodies :mod:`.payloads`, the backend :mod:`.backend`.

Two mappings deserve a note:

* easel's ``strength`` is "how much of the source image to KEEP" (Stability v1's
  ``image_strength``); A1111's ``denoising_strength`` is how much to repaint, so
  ``denoising_strength = 1 - strength``.
* ``info`` in a generation response is a JSON *string*; ``all_seeds`` in it gives
  the seed of every image (A1111 uses ``seed + i`` within a batch).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Any, Literal, NotRequired, TypedDict

from services.types import GenerationRequest, WeightedPrompt

# ---- request bodies ------------------------------------------------------------------------------


class OverrideSettings(TypedDict, total=False):
    sd_model_checkpoint: str


class Txt2ImgPayload(TypedDict, total=False):
    prompt: str
    negative_prompt: str
    seed: int
    batch_size: int
    n_iter: int
    steps: int
    cfg_scale: float
    width: int
    height: int
    sampler_name: str
    scheduler: str
    override_settings: OverrideSettings
    override_settings_restore_afterwards: bool
    send_images: bool
    save_images: bool
    do_not_save_grid: bool


class Img2ImgPayload(Txt2ImgPayload, total=False):
    init_images: list[str]
    denoising_strength: float
    resize_mode: int
    mask: str
    mask_blur: int
    inpainting_fill: int  # 0 fill, 1 original, 2 latent noise, 3 latent nothing
    inpaint_full_res: bool  # True: "only masked" area at full resolution
    inpaint_full_res_padding: int
    inpainting_mask_invert: int  # 1: repaint the black pixels instead of the white ones


class ExtrasPayload(TypedDict):
    image: str
    resize_mode: int
    upscaling_resize: float
    upscaler_1: str
    upscaler_2: str
    extras_upscaler_2_visibility: float
    gfpgan_visibility: float
    codeformer_visibility: float
    upscale_first: bool
    show_extras_results: bool


class InterrogatePayload(TypedDict):
    image: str
    model: str


# ---- response bodies -----------------------------------------------------------------------------


class GenerationResponse(TypedDict):
    images: list[str]
    parameters: dict[str, Any]
    info: str


class ExtrasResponse(TypedDict):
    image: str
    html_info: NotRequired[str]


class InterrogateResponse(TypedDict):
    caption: str


class ProgressState(TypedDict, total=False):
    skipped: bool
    interrupted: bool
    job: str
    job_count: int
    job_no: int
    sampling_step: int
    sampling_steps: int


class ProgressResponse(TypedDict, total=False):
    progress: float
    eta_relative: float
    state: ProgressState
    current_image: str | None
    textinfo: str | None


class SdModelItem(TypedDict, total=False):
    title: str
    model_name: str
    hash: str | None
    sha256: str | None
    filename: str


# ---- what a host offers --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A checkpoint as a host lists it. Users type ``name``; the host is sent ``title``."""

    title: str  # "sd_xl_base_1.0.safetensors [31e35c80fc]"
    name: str  # "sd_xl_base_1.0"
    hash: str = ""

    def matches(self, wanted: str) -> bool:
        w = wanted.strip().lower()
        return w in (
            self.title.lower(),
            self.name.lower(),
            self.hash.lower(),
            _strip_hash(self.title).lower(),
        )


HostKind = Literal["a1111", "sdnext"]  # A1111 and Forge share one API; SD.Next differs
INTERROGATE = "/sdapi/v1/interrogate"  # A1111, Forge: {"image", "model": "clip"|"deepdanbooru"}
SDNEXT_CAPTION = "/sdapi/v1/openclip"  # SD.Next: {"image", "model"?: OpenCLIP model} → {"caption"}
VERSION = "/sdapi/v1/version"  # SD.Next only: {"app": "sd.next", ...} (A1111 and Forge: 404)


def host_kind(version: Any) -> HostKind:
    """The host kind from its ``/sdapi/v1/version`` answer (None or anything else: A1111/Forge)."""
    info = version.get("version", version) if isinstance(version, dict) else None
    app = info.get("app") if isinstance(info, dict) else None
    return "sdnext" if isinstance(app, str) and app.lower() == "sd.next" else "a1111"


@dataclass(frozen=True, slots=True)
class HostCatalog:
    """What one GPU host offers, learned from its listing endpoints."""

    models: tuple[ModelInfo, ...] = ()
    samplers: tuple[str, ...] = ()
    schedulers: tuple[str, ...] = ()
    upscalers: tuple[str, ...] = ()
    current_model: str = ""  # title from /sdapi/v1/options sd_model_checkpoint
    kind: HostKind = "a1111"  # "sdnext": captions at /sdapi/v1/openclip, no ``scheduler`` field

    @property
    def caption_path(self) -> str:
        """Where this host captions an image (SD.Next moved it from /interrogate to OpenCLIP)."""
        return SDNEXT_CAPTION if self.kind == "sdnext" else INTERROGATE

    def find_model(self, wanted: str) -> ModelInfo | None:
        return next((m for m in self.models if m.matches(wanted)), None)

    @property
    def current_model_name(self) -> str:
        found = self.find_model(self.current_model) if self.current_model else None
        return found.name if found else _strip_hash(self.current_model).rsplit(".", 1)[0]


def parse_models(body: Any) -> tuple[ModelInfo, ...]:
    out: list[ModelInfo] = []
    for item in body if isinstance(body, list) else []:
        if isinstance(item, dict) and isinstance(item.get("title"), str):
            title = item["title"]
            name = item.get("model_name") or _strip_hash(title).rsplit(".", 1)[0]
            out.append(ModelInfo(title=title, name=str(name), hash=str(item.get("hash") or "")))
    return tuple(out)


def parse_names(body: Any) -> tuple[str, ...]:
    """Names from /samplers, /schedulers or /upscalers (lists of ``{"name": ...}``)."""
    return tuple(
        str(item["name"])
        for item in (body if isinstance(body, list) else [])
        if isinstance(item, dict) and item.get("name")
    )


PREFERRED_UPSCALERS = (
    "R-ESRGAN 4x+",
    "4x-UltraSharp",
    "ESRGAN_4x",
    "R-ESRGAN General 4xV3",
    "SwinIR_4x",
    "LDSR",
)
_PLAIN_UPSCALERS = {"none", "lanczos", "nearest"}


def pick_upscaler(available: tuple[str, ...]) -> str | None:
    """A sensible default upscaler when the operator did not choose one: a model, not a resize."""
    for name in PREFERRED_UPSCALERS:
        if name in available:
            return name
    models = [u for u in available if u.lower() not in _PLAIN_UPSCALERS]
    if models:
        return models[0]
    return "Lanczos" if "Lanczos" in available else None


def looks_like_large_model(name: str) -> bool:
    """SDXL/SD3/Flux checkpoints want 1024 px; SD 1.x/2.x want 512 px."""
    n = name.lower()
    return any(tag in n for tag in ("xl", "sd3", "flux", "pony", "cascade"))


def _strip_hash(title: str) -> str:
    return re.sub(r"\s*\[[0-9a-fA-F]+\]\s*$", "", title)


# ---- request mapping -----------------------------------------------------------------------------


def prompt_text(prompts: tuple[WeightedPrompt, ...], *, negative: bool) -> str:
    """Join easel's weighted prompts in A1111 attention syntax: weight 1 → ``text``, else ``(text:w)``."""
    parts: list[str] = []
    for p in prompts:
        if (p.weight < 0) != negative or not p.text.strip():
            continue
        weight = abs(p.weight)
        parts.append(p.text if weight == 1 else f"({p.text}:{weight:g})")
    return ", ".join(parts)


def denoising_strength(strength: float) -> float:
    """easel ``strength`` (keep this much of the source) → A1111 ``denoising_strength`` (repaint this much)."""
    return round(min(max(1.0 - strength, 0.0), 1.0), 4)


def common_payload(
    request: GenerationRequest, *, width: int, height: int, steps: int, cfg_scale: float
) -> Txt2ImgPayload:
    """Fields shared by txt2img and img2img. The model is added per host (titles differ)."""
    payload: Txt2ImgPayload = {
        "prompt": prompt_text(request.prompts, negative=False),
        "negative_prompt": prompt_text(request.prompts, negative=True),
        "seed": request.seed if request.seed is not None else -1,
        "batch_size": request.samples,
        "n_iter": 1,
        "steps": steps,
        "cfg_scale": cfg_scale,
        "width": width,
        "height": height,
        "send_images": True,
        "save_images": False,
        "do_not_save_grid": True,
    }
    if request.sampler:
        payload["sampler_name"] = request.sampler
    if request.scheduler:
        payload["scheduler"] = request.scheduler
    return payload


def with_model(payload: Txt2ImgPayload, model_title: str | None) -> Txt2ImgPayload:
    """Use the checkpoint for this job only: the host puts its own back afterwards, so one user's
    ``--model`` never becomes everyone's (the UI and other clients of a shared host keep theirs)."""
    if not model_title:
        return payload
    out = dict(payload)
    out["override_settings"] = {"sd_model_checkpoint": model_title}
    out["override_settings_restore_afterwards"] = True
    return out  # type: ignore[return-value]


def extras_payload(image_b64: str, *, factor: int, upscaler: str) -> ExtrasPayload:
    return {
        "image": image_b64,
        "resize_mode": 0,
        "upscaling_resize": factor,
        "upscaler_1": upscaler,
        "upscaler_2": "None",
        "extras_upscaler_2_visibility": 0,
        "gfpgan_visibility": 0,
        "codeformer_visibility": 0,
        "upscale_first": False,
        "show_extras_results": True,
    }


# ---- response mapping ----------------------------------------------------------------------------


def parse_info(info: Any) -> dict[str, Any]:
    """``info`` is a JSON string in A1111 responses (a dict in a few forks); ``{}`` when unreadable."""
    if isinstance(info, dict):
        return info
    if isinstance(info, str):
        try:
            parsed = json.loads(info)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def seeds_from_info(info: dict[str, Any], count: int, requested: int | None) -> list[int]:
    """The seed of each of ``count`` images: ``all_seeds``, else ``seed + i``, else the request's."""
    all_seeds = info.get("all_seeds")
    seeds: list[int] = []
    if isinstance(all_seeds, list):
        seeds = [int(s) for s in all_seeds if isinstance(s, int | float)]
    base = info.get("seed")
    if not isinstance(base, int | float) or base < 0:
        base = requested if requested is not None and requested >= 0 else 0
    while len(seeds) < count:
        seeds.append(int(base) + len(seeds))
    return seeds[:count]


def strip_data_url(b64: str) -> str:
    """Some forks answer ``data:image/png;base64,...``; A1111 answers bare base64."""
    if b64.startswith("data:"):
        return b64.split(",", 1)[1] if "," in b64 else ""
    return b64


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int] | None:
    """Width and height from the IHDR chunk (no decoding), or None if this is not a PNG."""
    if len(png) < 24 or not png.startswith(PNG_SIGNATURE) or png[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


# ---- errors ----------------------------------------------------------------------------------------


def error_text(body: Any, *, limit: int = 300) -> str:
    """One readable line from an error body: FastAPI ``{"detail": [...]}``, ``{"detail": "..."}``,
    or A1111's middleware shape ``{"error", "detail", "body", "errors"}``."""
    text = ""
    if isinstance(body, dict):
        detail = body.get("detail")
        if isinstance(detail, list):
            text = "; ".join(_validation_item(item) for item in detail)
        elif isinstance(detail, str) and detail:
            text = detail
        if not text:
            for key in ("errors", "error", "message"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    text = value
                    break
    elif isinstance(body, str):
        text = body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _validation_item(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = [str(x) for x in item.get("loc") or () if x != "body"]
    msg = str(item.get("msg") or "invalid value")
    return f"{'.'.join(loc)}: {msg}" if loc else msg
