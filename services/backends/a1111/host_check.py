"""``easel check`` for one GPU host: reachable, credentials accepted, models, upscaler. Never generates."""

from __future__ import annotations

import services.backends.a1111.wire as wire
from services.backends.a1111.client import A1111Client, ApiMissing, HostAuthFailed
from services.errors import BackendError
from services.types import CheckResult

__all__ = ["check_host"]


async def check_host(client: A1111Client, *, upscaler: str | None) -> CheckResult:
    """One ``gpu-host <url>`` line; ``client`` must have an open session."""
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
    return CheckResult(name, ok, ", ".join(parts))
