"""Which operations a ComfyUI setup offers and the :class:`BackendLimits` commands validate against.

An operation is offered when its workflow's nodes exist on a reachable host (``/upscale`` also
needs an upscale model there); samplers, schedulers and checkpoints (``--model``) come from the
hosts' ``/object_info``; the default steps and CFG are the workflow's own values.
"""

from __future__ import annotations

from services.backends.base import BackendLimits
from services.backends.comfyui.catalog import HostCatalog
from services.backends.comfyui.workflows import Workflow
from services.types import Operation

__all__ = ["SEED_MAX", "UPSCALE_FACTORS", "limits_for", "usable_workflows"]

SEED_MAX = 2**32 - 1
UPSCALE_FACTORS = (2, 4)


def usable_workflows(
    workflows: dict[Operation, Workflow], catalog: HostCatalog | None
) -> dict[Operation, Workflow]:
    """The workflows the hosts can run (all of them while no host is known yet)."""
    if catalog is None:
        return dict(workflows)
    usable = {}
    for op, workflow in workflows.items():
        if catalog.missing_nodes(workflow.class_types()):
            continue
        if op is Operation.UPSCALE and workflow.maps("upscale_model") and not catalog.upscale_models:
            continue
        usable[op] = workflow
    return usable


def limits_for(
    usable: dict[Operation, Workflow], catalog: HostCatalog | None, *, checkpoint: str | None, max_side: int
) -> BackendLimits:
    sampler_wf = usable.get(Operation.IMAGINE) or next(iter(usable.values()), None)
    steps = int(sampler_wf.node_value("steps")) if sampler_wf is not None and sampler_wf.maps("steps") else 30
    cfg = float(sampler_wf.node_value("cfg")) if sampler_wf is not None and sampler_wf.maps("cfg") else 7.0
    default_model = checkpoint or (catalog.checkpoints[0] if catalog and catalog.checkpoints else "")
    return BackendLimits(
        operations=frozenset(usable),
        default_size=(1024, 1024),
        min_side=64,
        max_side=max_side,
        size_multiple=8,
        max_pixels=max_side * max_side,
        samples=(1, 4),
        seed=(0, SEED_MAX),
        steps=(1, 150),
        default_steps=steps,
        cfg_scale=(0.0, 30.0),
        default_cfg_scale=cfg,
        samplers=catalog.samplers if catalog else (),
        schedulers=catalog.schedulers if catalog else (),
        models=catalog.checkpoints if catalog else (),
        default_model=default_model,
        upscale_factors=UPSCALE_FACTORS,
        max_upscale_output_pixels=8192 * 8192,
        unsupported_options=frozenset({"style"}),
    )
