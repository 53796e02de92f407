"""What a ComfyUI host offers, read from ``GET /object_info``: node classes, checkpoints, samplers,
schedulers, upscale models — and whether a workflow's nodes all exist there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["HostCatalog", "merge"]


def _choices(info: dict[str, Any], node: str, name: str) -> tuple[str, ...]:
    spec = (((info.get(node) or {}).get("input") or {}).get("required") or {}).get(name)
    if isinstance(spec, list) and spec and isinstance(spec[0], list):
        return tuple(str(v) for v in spec[0])
    return ()


@dataclass(frozen=True)
class HostCatalog:
    node_classes: frozenset[str]
    checkpoints: tuple[str, ...]
    samplers: tuple[str, ...]
    schedulers: tuple[str, ...]
    upscale_models: tuple[str, ...]

    @classmethod
    def from_object_info(cls, info: dict[str, Any]) -> HostCatalog:
        return cls(
            node_classes=frozenset(info),
            checkpoints=_choices(info, "CheckpointLoaderSimple", "ckpt_name"),
            samplers=_choices(info, "KSampler", "sampler_name"),
            schedulers=_choices(info, "KSampler", "scheduler"),
            upscale_models=_choices(info, "UpscaleModelLoader", "model_name"),
        )

    def missing_nodes(self, class_types: set[str]) -> list[str]:
        return sorted(class_types - self.node_classes)


def merge(catalogs: list[HostCatalog]) -> HostCatalog | None:
    """What the hosts offer together (each list in first-seen order); None when none is known."""
    if not catalogs:
        return None

    def union(lists: list[tuple[str, ...]]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for values in lists for v in values))

    return HostCatalog(
        node_classes=frozenset().union(*(c.node_classes for c in catalogs)),
        checkpoints=union([c.checkpoints for c in catalogs]),
        samplers=union([c.samplers for c in catalogs]),
        schedulers=union([c.schedulers for c in catalogs]),
        upscale_models=union([c.upscale_models for c in catalogs]),
    )
