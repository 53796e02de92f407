"""``easel check`` for one GPU host: reachable, credentials accepted, models, upscaler. Never generates."""

from __future__ import annotations

import services.backends.a1111.wire as wire
from services.backends.a1111.client import A1111Client, ApiMissing, HostAuthFailed
from services.errors import BackendError
from services.types import CheckResult

__all__ = ["check_host"]


async def check_host(
    client: A1111Client, *, upscaler: str | None, sampler: str | None = None, concurrency: int = 1
) -> CheckResult:
    """One ``gpu-host <url>`` line; ``client`` must have an open session.

    Interrupts and previews are host-wide in the web UI API, so a host that is shared — several
    easel jobs at once (``EASEL_GPU_HOST_CONCURRENCY`` > 1), or busy with work easel did not send —
    is named: easel then withholds previews and interrupts only when the host runs nothing else.
    """
    name = f"gpu-host {client.label}"
    try:
        catalog = await client.catalog()
    except HostAuthFailed:
        return CheckResult(
            name,
            False,
            "credentials refused (HTTP 401/403): check EASEL_GPU_HOST_AUTH or EASEL_GPU_HOST_TOKEN",
        )
    except ApiMissing:
        return CheckResult(name, False, "reachable, but its API is off: start the web UI with --api")
    except BackendError as err:
        return CheckResult(name, False, f"unreachable: {err.log_detail or type(err).__name__}")
    parts = [
        "reachable",
        f"{len(catalog.models)} models (current: {catalog.current_model_name or 'unknown'})",
        f"{len(catalog.samplers)} samplers",
    ]
    ok = bool(catalog.models)
    if not catalog.models:
        parts.append("no models installed")
    if upscaler and catalog.upscalers and upscaler not in catalog.upscalers:
        ok = False
        parts.append(
            f"upscaler {upscaler!r} not offered (EASEL_GPU_UPSCALER; has: {', '.join(catalog.upscalers)})"
        )
    else:
        parts.append(f"upscaler {upscaler or wire.pick_upscaler(catalog.upscalers) or 'none'}")
    if sampler and catalog.samplers and sampler.lower() not in {s.lower() for s in catalog.samplers}:
        parts.append(
            f"default sampler {sampler!r} not offered (EASEL_GPU_SAMPLER): the host's API default is used"
        )
    if catalog.kind == "sdnext":
        parts.append("SD.Next (captions via OpenCLIP, no --scheduler)")
    shared = await _busy(client)
    if concurrency > 1:
        parts.append(
            f"shared: {concurrency} easel jobs at once (EASEL_GPU_HOST_CONCURRENCY), so previews are "
            "withheld and a cancel interrupts only when nothing else runs there"
        )
    elif shared:
        parts.append("shared: busy with work easel did not send; easel interrupts only its own jobs")
    return CheckResult(name, ok, ", ".join(parts))


async def _busy(client: A1111Client) -> bool:
    """Whether the host is running a job right now (``easel check`` starts none itself)."""
    try:
        state = (await client.progress(with_preview=False)).get("state") or {}
    except BackendError:
        return False
    count = state.get("job_count") if isinstance(state, dict) else None
    return isinstance(count, int) and count > 0
