"""Reading a v2beta 200 answer into a :class:`GeneratedImage`.

With ``Accept: image/*`` the answer is the image itself, with ``finish-reason`` and ``seed``
headers; with ``Accept: application/json`` it is ``{image: base64, finish_reason, seed}``.
A filtered image comes back empty (nobody can publish it); anything unreadable is
:class:`BackendUnavailable`.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import replace

from services.backends.stability.api import Reply
from services.backends.stability.v2_call import V2Call
from services.errors import BackendUnavailable, InvalidRequest
from services.images import image_size, sniff_format
from services.imaging import to_png
from services.offload import run_cpu
from services.types import FinishReason, GeneratedImage

__all__ = ["image_from"]


async def image_from(reply: Reply, call: V2Call) -> GeneratedImage:
    """The image of a 200 answer (raw bytes with headers, or the JSON form)."""
    reason_text, seed_text, png = reply.finish_reason, reply.seed, reply.body
    if reply.content_type == "application/json":
        try:
            data = json.loads(reply.body)
            png = base64.b64decode(data.get("image") or "", validate=True)
            reason_text = str(data.get("finish_reason", "SUCCESS"))
            seed_text = str(data.get("seed", "0"))
        except (ValueError, AttributeError, TypeError, binascii.Error) as exc:
            raise BackendUnavailable(log_detail=f"{call.operation}: unreadable JSON image: {exc}") from None
    elif not reply.content_type.startswith("image/"):
        raise BackendUnavailable(
            log_detail=f"{call.operation}: unexpected content type {reply.content_type or '(none)'}"
        )
    reason = (reason_text or "SUCCESS").strip().upper()
    try:
        seed = int(seed_text or 0)
    except ValueError:
        seed = 0
    if reason == "CONTENT_FILTERED":
        return replace(call.empty(FinishReason.CONTENT_FILTERED), seed=seed)
    if reason != "SUCCESS" or not png:
        raise BackendUnavailable(log_detail=f"{call.operation}: finish-reason {reason}, {len(png)} bytes")
    if sniff_format(png) != "PNG":
        try:
            png = await run_cpu(to_png, png)
        except (OSError, ValueError) as exc:
            raise BackendUnavailable(log_detail=f"{call.operation}: undecodable image: {exc}") from None
    try:
        width, height = image_size(png)
    except InvalidRequest:
        raise BackendUnavailable(log_detail=f"{call.operation}: the answer is not an image") from None
    return GeneratedImage(png=png, seed=seed, width=width, height=height)
