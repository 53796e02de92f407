"""AUTOMATIC1111-compatible GPU hosts (A1111, Forge, SD.Next) as one easel backend.

=================  ==============================================================
``backend``        :class:`A1111Backend`: the :class:`~services.backends.base.Backend`
``pool``           hosts, per-host slots, failover, health (:class:`GpuPool`)
``host_call``      one call on one host, its progress polls and interrupts
``host_check``     ``easel check`` for one host
``catalog``        what the hosts offer → limits and per-host choices
``client``         one host's HTTP API, status codes → easel errors
``payloads``       :class:`~services.types.GenerationRequest` → request bodies
``responses``      response bodies → images, seeds, progress
``wire``           raw JSON shapes and pure mappings
``plugin``         settings (``EASEL_GPU_*``) and the registry entry
=================  ==============================================================
"""

from services.backends.a1111.backend import A1111Backend
from services.backends.a1111.plugin import PLUGIN, A1111Settings
from services.backends.a1111.pool import GpuPool, HostState

__all__ = ["PLUGIN", "A1111Backend", "A1111Settings", "GpuPool", "HostState"]
