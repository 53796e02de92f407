"""One AUTOMATIC1111-compatible host (A1111, Forge, SD.Next): its HTTP client and job payloads.

:class:`A1111Client` makes the HTTP calls and maps status codes onto easel's errors;
the ``*_payload`` functions turn a :class:`~services.types.GenerationRequest` into the
body of one call, and :func:`decode_images` turns a response back into easel types.
Several hosts, routing and failover are :mod:`services.backends.gpu_pool`'s business
(it also holds :class:`~services.backends.gpu_pool.GpuHostBackend`); raw JSON shapes are
in :mod:`services.backends.a1111_wire`.

=========  ===========================================================================
imagine    ``POST /sdapi/v1/txt2img``
remix      ``POST /sdapi/v1/img2img``; ``denoising_strength = 1 - strength`` (easel's
           ``strength`` is how much of the source to *keep*)
inpaint    img2img with ``mask`` (mask source black → ``inpainting_mask_invert=1``;
           alpha → the mask is the init image's transparency)
outpaint   img2img on an edge-stretched canvas with a mask over the new area
           (:mod:`services.outpaint`); the original is pasted back afterwards
upscale    ``POST /sdapi/v1/extra-single-image`` (``upscaling_resize`` 2 or 4)
describe   ``POST /sdapi/v1/interrogate`` (CLIP) → a caption
=========  ===========================================================================

Credentials (basic auth, bearer token, ``user:pass@`` in a URL) travel in headers only:
:attr:`A1111Client.label` is the URL without them, and is what logs show.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import io
import json
import math
from typing import Any

import aiohttp
from PIL import Image
from yarl import URL

from services.backends import a1111_wire as wire
from services.backends.base import BackendLimits
from services.errors import (
    BackendError,
    BackendMisconfigured,
    BackendRejected,
    BackendUnavailable,
    InvalidRequest,
)
from services.offload import run_cpu
from services.outpaint import OutpaintPlan, plan_outpaint, prepare_outpaint
from services.types import GeneratedImage, GenerationRequest, InputImage, MaskSource, Progress

__all__ = [
    "EXTRAS",
    "IMG2IMG",
    "INTERROGATE",
    "TXT2IMG",
    "A1111Client",
    "ApiMissing",
    "HostAuthFailed",
    "HostFailure",
    "decode_image",
    "decode_images",
    "extras_payload",
    "fit_size",
    "img2img_payload",
    "inpaint_payload",
    "interrogate_payload",
    "outpaint_payload",
    "progress_from",
    "txt2img_payload",
]

TXT2IMG = "/sdapi/v1/txt2img"
IMG2IMG = "/sdapi/v1/img2img"
EXTRAS = "/sdapi/v1/extra-single-image"
INTERROGATE = "/sdapi/v1/interrogate"
PROGRESS = "/sdapi/v1/progress"
INTERRUPT = "/sdapi/v1/interrupt"
OPTIONS = "/sdapi/v1/options"

INPAINT_MASK_BLUR = 4
INPAINT_PADDING = 32
DEFAULT_INPAINT_KEEP = 0.25  # → denoising 0.75: repaint the masked area, its colours a hint
DEFAULT_OUTPAINT_KEEP = 0.1  # → denoising 0.9: the stretched edge is only a colour hint


# ---- errors --------------------------------------------------------------------------------------


class HostFailure(BackendUnavailable):
    """This host failed (connection error, 5xx, timeout): take it out of rotation, try another."""


class HostAuthFailed(BackendMisconfigured):
    """This host refused our credentials (401/403)."""


class ApiMissing(BackendMisconfigured):
    """404 for the route itself: the web UI runs without ``--api``, or this fork lacks the endpoint."""


# ---- the client ----------------------------------------------------------------------------------


class A1111Client:
    """HTTP calls to one host, with status codes mapped onto easel's errors.

    Connection errors, timeouts and 5xx raise :class:`HostFailure`; 401/403
    :class:`HostAuthFailed`; 400/422 :class:`BackendRejected` with the host's validation
    message in one line; a missing route :class:`ApiMissing`. ``session`` is set by the
    owner (the backend) before use.
    """

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        parsed = URL(url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(
                f"GPU host URL must look like http(s)://host:port, not {parsed.with_user(None)!s}"
            )
        if parsed.user is not None:  # http://user:pass@host:7860
            auth = (parsed.user, parsed.password or "")
        self.base = str(parsed.with_user(None).with_query(None).with_fragment(None)).rstrip("/")
        self.label = self.base  # no credentials: safe to log
        self._headers: dict[str, str] = {}
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self._headers["Authorization"] = f"Basic {basic}"
        elif token:
            self._headers["Authorization"] = f"Bearer {token}"
        self.session: aiohttp.ClientSession | None = None
        self.generation_timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(15.0, timeout_s))
        self.probe_timeout = aiohttp.ClientTimeout(
            total=min(30.0, timeout_s), sock_connect=min(10.0, timeout_s)
        )
        self.poll_timeout = aiohttp.ClientTimeout(
            total=min(10.0, timeout_s), sock_connect=min(5.0, timeout_s)
        )

    async def get_json(self, path: str) -> Any:
        return await self._request("GET", path, None, self.probe_timeout)

    async def post_json(self, path: str, payload: Any) -> Any:
        """A generation call: the generous ``timeout_s`` applies (slow GPUs, big batches)."""
        return await self._request("POST", path, payload, self.generation_timeout)

    async def progress(self, *, with_preview: bool) -> wire.ProgressResponse:
        skip = "false" if with_preview else "true"
        body = await self._request("GET", f"{PROGRESS}?skip_current_image={skip}", None, self.poll_timeout)
        return body if isinstance(body, dict) else {}  # type: ignore[return-value]

    async def interrupt(self) -> None:
        await self._request("POST", INTERRUPT, None, self.poll_timeout)

    async def catalog(self) -> wire.HostCatalog:
        """Probe: options first (proves the API is on and our credentials work), then the listings."""
        options = await self.get_json(OPTIONS)
        models = wire.parse_models(await self.get_json("/sdapi/v1/sd-models"))
        samplers = wire.parse_names(await self.get_json("/sdapi/v1/samplers"))
        schedulers = wire.parse_names(await self._optional("/sdapi/v1/schedulers"))
        upscalers = wire.parse_names(await self._optional("/sdapi/v1/upscalers"))
        current = options.get("sd_model_checkpoint") if isinstance(options, dict) else None
        return wire.HostCatalog(
            models=models,
            samplers=samplers,
            schedulers=schedulers,
            upscalers=upscalers,
            current_model=current if isinstance(current, str) else "",
        )

    async def _optional(self, path: str) -> Any:
        """Listings older hosts lack (schedulers arrived in A1111 1.9): missing → empty."""
        try:
            return await self.get_json(path)
        except ApiMissing:
            return []

    async def _request(self, method: str, path: str, payload: Any, limit: aiohttp.ClientTimeout) -> Any:
        session = self.session
        if session is None or session.closed:
            raise BackendMisconfigured(log_detail="GPU host client used without an open session")
        data = None
        headers = dict(self._headers)
        if payload is not None:
            # Bodies carry base64 images of several MB: serialise off the event loop.
            data = await run_cpu(json.dumps, payload) if _is_big(payload) else json.dumps(payload)
            headers["Content-Type"] = "application/json"
        where = f"{self.label} {method} {path.split('?')[0]}"
        try:
            async with session.request(
                method, self.base + path, data=data, headers=headers, timeout=limit
            ) as resp:
                status = resp.status
                raw = await resp.read()
        except TimeoutError as err:
            raise HostFailure(log_detail=f"{where}: timed out after {limit.total}s") from err
        except aiohttp.ClientError as err:
            raise HostFailure(log_detail=f"{where}: {type(err).__name__}") from err
        body = await _parse_json(raw)
        if 200 <= status < 300:
            if body is _INVALID:
                raise HostFailure(log_detail=f"{where}: HTTP {status} with a body that is not JSON")
            return body
        raise _status_error(status, None if body is _INVALID else body, where)


_INVALID = object()


def _is_big(payload: Any) -> bool:
    return isinstance(payload, dict) and any(
        (isinstance(v, str) and len(v) > 64 * 1024) or (isinstance(v, list) and bool(v))
        for v in payload.values()
    )


async def _parse_json(raw: bytes) -> Any:
    if not raw:
        return None

    def parse() -> Any:
        try:
            return json.loads(raw)
        except ValueError:
            return _INVALID

    return await run_cpu(parse) if len(raw) > 64 * 1024 else parse()


def _status_error(status: int, body: Any, where: str) -> BackendError:
    text = wire.error_text(body)
    detail = f"{where}: HTTP {status} {text}".strip()
    if status in (401, 403):
        return HostAuthFailed(log_detail=detail)
    if status == 404:
        if text in ("", "Not Found"):
            return ApiMissing(log_detail=detail + " (is the web UI started with --api?)")
        return BackendRejected(_rejected(text), log_detail=detail)  # A1111: "Sampler not found"
    if status in (400, 422):
        return BackendRejected(_rejected(text), log_detail=detail)
    if status == 413:
        return BackendRejected("That image is too large for the GPU host.", log_detail=detail)
    if status == 500 and "outofmemory" in json.dumps(body).lower().replace(" ", ""):
        return BackendRejected(
            "The GPU ran out of memory on this one. Try a smaller size or fewer images.", log_detail=detail
        )
    return HostFailure(log_detail=detail)


def _rejected(text: str) -> str:
    return f"The GPU host rejected the request: {text}" if text else "The GPU host rejected the request."


# ---- request payloads ----------------------------------------------------------------------------


def fit_size(width: float, height: float, limits: BackendLimits) -> tuple[int, int]:
    """Scale down into the host's limits (keeping the shape), then snap to the size multiple."""
    scale = min(1.0, limits.max_side / max(width, height), math.sqrt(limits.max_pixels / (width * height)))
    m = limits.size_multiple

    def snap(x: float) -> int:
        return int(min(max(limits.min_side, round(x * scale / m) * m), limits.max_side // m * m))

    return snap(width), snap(height)


def _txt2img_size(request: GenerationRequest, limits: BackendLimits) -> tuple[int, int]:
    if request.width and request.height:
        return fit_size(request.width, request.height, limits)
    side = limits.default_size[0]
    ratio = _parse_ratio(request.aspect_ratio) if request.aspect_ratio else None
    if ratio:  # same pixel count as the default square, in the asked shape
        return fit_size(side * math.sqrt(ratio), side / math.sqrt(ratio), limits)
    return limits.default_size


def _img2img_size(request: GenerationRequest, init: InputImage, limits: BackendLimits) -> tuple[int, int]:
    if request.width and request.height:
        return fit_size(request.width, request.height, limits)
    return fit_size(init.width, init.height, limits)


def _common(request: GenerationRequest, limits: BackendLimits, size: tuple[int, int]) -> dict[str, Any]:
    payload = wire.common_payload(
        request,
        width=size[0],
        height=size[1],
        steps=request.steps or limits.default_steps,
        cfg_scale=request.cfg_scale if request.cfg_scale is not None else limits.default_cfg_scale,
    )
    return dict(payload)


def txt2img_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    return _common(request, limits, _txt2img_size(request, limits))


async def img2img_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    """/remix: ``denoising_strength = 1 - strength`` (strength: how much of the source to keep)."""
    init = _need_image(request.init_image, "/remix needs a source image.")
    payload = _common(request, limits, _img2img_size(request, init, limits))
    keep = request.strength if request.strength is not None else limits.default_strength
    payload |= {
        "init_images": [await b64encode(init.png)],
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
    }
    return payload


async def inpaint_payload(request: GenerationRequest, limits: BackendLimits) -> dict[str, Any]:
    """/inpaint: img2img with a grayscale mask (white = repaint, unless inverted)."""
    init = _need_image(request.init_image, "/inpaint needs an image.")
    source = request.mask_source or MaskSource.WHITE
    if source is MaskSource.ALPHA:
        if not init.has_alpha:
            raise InvalidRequest("This image has no transparent pixels to repaint; upload a mask instead.")
        init_png, mask_png = await run_cpu(_split_alpha, init.png)
        invert = 0
    else:
        mask = _need_image(
            request.mask_image, "/inpaint needs a mask (white = repaint) or a transparent image."
        )
        init_png = init.png
        mask_png = await run_cpu(_gray_mask, mask.png, (init.width, init.height))
        invert = 1 if source is MaskSource.BLACK else 0
    payload = _common(request, limits, _img2img_size(request, init, limits))
    keep = request.strength if request.strength is not None else DEFAULT_INPAINT_KEEP
    payload |= {
        "init_images": [await b64encode(init_png)],
        "mask": await b64encode(mask_png),
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
        "mask_blur": INPAINT_MASK_BLUR,
        "inpainting_fill": 1,  # "original": start from the image's own colours
        "inpaint_full_res": False,  # the whole picture as context, so the patch fits in
        "inpaint_full_res_padding": INPAINT_PADDING,
        "inpainting_mask_invert": invert,
    }
    return payload


async def outpaint_payload(
    request: GenerationRequest, limits: BackendLimits
) -> tuple[dict[str, Any], OutpaintPlan]:
    """/outpaint: inpaint the padding of an edge-stretched canvas. Paste the original back afterwards."""
    init = _need_image(request.init_image, "/outpaint needs an image.")
    if request.outpaint is None:
        raise InvalidRequest("Tell me where to extend the image: --left, --right, --up, --down or --ar.")
    plan = plan_outpaint(
        init.width,
        init.height,
        request.outpaint,
        size_multiple=limits.size_multiple,
        max_side=limits.max_side,
        max_pixels=limits.max_pixels,
    )
    canvas_png, mask_png = await prepare_outpaint(init.png, plan)
    payload = _common(request, limits, plan.canvas_size)
    keep = request.strength if request.strength is not None else DEFAULT_OUTPAINT_KEEP
    payload |= {
        "init_images": [await b64encode(canvas_png)],
        "mask": await b64encode(mask_png),
        "denoising_strength": wire.denoising_strength(keep),
        "resize_mode": 0,
        "mask_blur": INPAINT_MASK_BLUR,
        "inpainting_fill": 1,  # "original": the stretched edge seeds the new area
        "inpaint_full_res": False,
        "inpainting_mask_invert": 0,
    }
    return payload, plan


async def extras_payload(request: GenerationRequest, upscaler: str) -> dict[str, Any]:
    init = _need_image(request.init_image, "/upscale needs an image.")
    return dict(
        wire.extras_payload(await b64encode(init.png), factor=request.upscale_factor, upscaler=upscaler)
    )


async def interrogate_payload(request: GenerationRequest, model: str) -> dict[str, Any]:
    init = _need_image(request.init_image, "/describe needs an image.")
    return {"image": await b64encode(init.png), "model": model}


def _need_image(image: InputImage | None, message: str) -> InputImage:
    if image is None:
        raise InvalidRequest(message)
    return image


def _parse_ratio(text: str) -> float | None:
    try:
        a, b = (float(x) for x in text.replace("x", ":").split(":"))
    except ValueError:
        return None
    return a / b if a > 0 and b > 0 else None


# ---- responses -----------------------------------------------------------------------------------


async def decode_images(
    body: Any, *, count: int, requested_seed: int | None, where: str
) -> tuple[tuple[GeneratedImage, ...], dict[str, Any]]:
    """txt2img/img2img response → images with their seeds (from ``info``), and the parsed ``info``."""
    if not isinstance(body, dict):
        raise BackendError(log_detail=f"{where}: response is not a JSON object")
    raw_images = [i for i in body.get("images") or [] if isinstance(i, str) and i]
    if not raw_images:
        raise BackendError(log_detail=f"{where}: response without images")
    info = wire.parse_info(body.get("info"))
    count = min(len(raw_images), count)  # extensions may append extra images (ControlNet maps, …)
    seeds = wire.seeds_from_info(info, count, requested_seed)
    images = []
    for b64, seed in zip(raw_images[:count], seeds, strict=True):
        png, width, height = await decode_image(b64)
        images.append(GeneratedImage(png=png, seed=seed, width=width, height=height))
    return tuple(images), info


async def decode_image(b64: str) -> tuple[bytes, int, int]:
    """Base64 from the host → PNG and its size (JPEG/WebP, per the host's samples_format, re-encoded)."""
    try:
        data = await run_cpu(base64.b64decode, wire.strip_data_url(b64), validate=True)
    except (binascii.Error, ValueError) as err:
        raise BackendError(log_detail="GPU host sent an image that is not valid base64") from err
    size = wire.png_size(data)
    if size is not None:
        return data, size[0], size[1]
    try:
        return await run_cpu(_to_png, data)
    except OSError as err:
        raise BackendError(log_detail="GPU host sent an image Pillow cannot read") from err


async def progress_from(body: wire.ProgressResponse, *, with_preview: bool) -> Progress | None:
    """A ``/progress`` answer → :class:`Progress`, or None while the host is idle (job still queued)."""
    state = body.get("state") or {}
    fraction = body.get("progress") or 0.0
    if not isinstance(fraction, int | float) or (fraction <= 0 and not state.get("job_count")):
        return None
    eta = body.get("eta_relative")
    eta_s = float(eta) if isinstance(eta, int | float) and eta >= 0 else None
    preview: bytes | None = None
    current = body.get("current_image")
    if with_preview and isinstance(current, str) and current:
        with contextlib.suppress(BackendError):
            preview, _, _ = await decode_image(current)
    step, steps = state.get("sampling_step"), state.get("sampling_steps")
    message = f"step {step}/{steps}" if isinstance(step, int) and isinstance(steps, int) and steps else ""
    return Progress(
        fraction=min(max(float(fraction), 0.0), 1.0), eta_s=eta_s, preview_png=preview, message=message
    )


async def b64encode(data: bytes) -> str:
    if len(data) < 256 * 1024:
        return base64.b64encode(data).decode("ascii")
    return await run_cpu(lambda: base64.b64encode(data).decode("ascii"))


# ---- Pillow work (through run_cpu) ----------------------------------------------------------------


def _to_png(data: bytes) -> tuple[bytes, int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue(), image.width, image.height


def _gray_mask(mask_png: bytes, size: tuple[int, int]) -> bytes:
    """The mask as plain grayscale at the init image's size.

    Sent as RGBA, A1111 would take the mask from its alpha channel; flattening onto black
    keeps what the user painted (white = repaint) whatever the mode.
    """
    with Image.open(io.BytesIO(mask_png)) as image:
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            gray = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba).convert("L")
        else:
            gray = image.convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.NEAREST)
    out = io.BytesIO()
    gray.save(out, format="PNG")
    return out.getvalue()


def _split_alpha(png: bytes) -> tuple[bytes, bytes]:
    """Image with transparency → (RGB image, mask: white where it was transparent)."""
    with Image.open(io.BytesIO(png)) as image:
        rgba = image.convert("RGBA")
    mask = rgba.getchannel("A").point(lambda a: 255 - a)
    rgb_out, mask_out = io.BytesIO(), io.BytesIO()
    rgba.convert("RGB").save(rgb_out, format="PNG")
    mask.save(mask_out, format="PNG")
    return rgb_out.getvalue(), mask_out.getvalue()
