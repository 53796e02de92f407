"""ComfyUI workflows as easel uses them: an API-format graph plus a small mapping of node inputs.

A workflow is two files: ``<name>.json``, the graph exactly as ComfyUI's "Save (API format)"
writes it, and ``<name>.easel.json``, which says what the graph does and where easel's values go::

    {"operation": "imagine", "output": "9",
     "inputs": {"prompt": "6.text", "negative": "7.text", "seed": "3.seed", "width": "5.width",
                "height": "5.height", "steps": "3.steps", "cfg": "3.cfg", "checkpoint": "4.ckpt_name"}}

Keys easel fills: ``prompt``, ``negative``, ``seed``, ``width``, ``height``, ``steps``, ``cfg``,
``sampler``, ``scheduler``, ``checkpoint``, ``image``, ``mask``, ``denoise``, ``upscale_model``,
``scale_by``; a key a workflow does not map is simply not set (the graph's own value stays).
easel ships one workflow per operation (txt2img, img2img, inpaint, outpaint, upscale); a file of
the operator's folder (``EASEL_COMFYUI_WORKFLOWS``) declaring the same operation replaces it::

    workflows = load_workflows(Path("/etc/easel/workflows"))   # shipped ones for the rest
    graph = workflows[Operation.IMAGINE].fill({"prompt": "a fox", "seed": 7})
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from services.backends.plugin import BackendConfigError
from services.types import Operation

__all__ = ["MAPPABLE", "Workflow", "load_workflows", "parse_workflow"]

MAPPABLE = frozenset(
    {"prompt", "negative", "seed", "width", "height", "steps", "cfg", "sampler", "scheduler", "checkpoint",
     "image", "mask", "denoise", "upscale_model", "scale_by"}
)  # fmt: skip
_OPERATIONS = {
    op.value: op
    for op in (Operation.IMAGINE, Operation.REMIX, Operation.INPAINT, Operation.OUTPAINT, Operation.UPSCALE)
}


@dataclass(frozen=True)
class Workflow:
    """One graph and where easel's values go in it (``key → (node id, input name)``)."""

    name: str
    operation: Operation
    graph: dict[str, Any]
    inputs: dict[str, tuple[str, str]]
    output: str  # the node whose images are the result (a SaveImage)
    native_scale: int = 1  # upscale workflows: the model's own factor (scale_by = factor / native)

    def maps(self, key: str) -> bool:
        return key in self.inputs

    def node_value(self, key: str) -> Any:
        node, name = self.inputs[key]
        return self.graph[node]["inputs"][name]

    def fill(self, values: dict[str, Any]) -> dict[str, Any]:
        """A copy of the graph with ``values`` set where the mapping says (unmapped keys are skipped)."""
        graph = copy.deepcopy(self.graph)
        for key, value in values.items():
            if value is not None and key in self.inputs:
                node, name = self.inputs[key]
                graph[node]["inputs"][name] = value
        return graph

    def class_types(self) -> set[str]:
        return {str(node["class_type"]) for node in self.graph.values()}


def parse_workflow(name: str, graph: Any, mapping: Any) -> Workflow:
    """Check one workflow's files; raises :class:`BackendConfigError` naming what is wrong."""
    where = f"ComfyUI workflow {name!r}"
    if not isinstance(graph, dict) or not all(
        isinstance(n, dict) and "class_type" in n for n in graph.values()
    ):
        raise BackendConfigError(f"{where}: not an API-format graph (use ComfyUI's 'Save (API format)')")
    if not isinstance(mapping, dict):
        raise BackendConfigError(f"{where}: its .easel.json must be an object")
    operation = _OPERATIONS.get(str(mapping.get("operation")))
    if operation is None:
        raise BackendConfigError(f"{where}: 'operation' must be one of {', '.join(_OPERATIONS)}")
    output = str(mapping.get("output", ""))
    if output not in graph:
        raise BackendConfigError(f"{where}: 'output' names no node of the graph")
    inputs: dict[str, tuple[str, str]] = {}
    for key, target in (mapping.get("inputs") or {}).items():
        if key not in MAPPABLE:
            raise BackendConfigError(
                f"{where}: unknown input key {key!r}; easel fills {', '.join(sorted(MAPPABLE))}"
            )
        node, _, field = str(target).partition(".")
        if node not in graph or field not in graph[node].get("inputs", {}):
            raise BackendConfigError(
                f"{where}: {key!r} points at {target!r}, which is not an input of the graph"
            )
        inputs[key] = (node, field)
    if "prompt" not in inputs and operation is not Operation.UPSCALE:
        raise BackendConfigError(f"{where}: map 'prompt' to the node input that takes the prompt")
    if operation is not Operation.IMAGINE and "image" not in inputs:
        raise BackendConfigError(f"{where}: map 'image' to the LoadImage input that takes the source")
    if operation in (Operation.INPAINT, Operation.OUTPAINT) and "mask" not in inputs:
        raise BackendConfigError(f"{where}: map 'mask' to the input that takes the mask")
    return Workflow(name, operation, graph, inputs, output, int(mapping.get("native_scale", 1)))


def _shipped() -> dict[Operation, Workflow]:
    folder = resources.files("services.backends.comfyui.default_workflows")
    found: dict[Operation, Workflow] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json") and not entry.name.endswith(".easel.json"):
            name = entry.name.removesuffix(".json")
            mapping = json.loads(folder.joinpath(f"{name}.easel.json").read_text())
            workflow = parse_workflow(name, json.loads(entry.read_text()), mapping)
            found[workflow.operation] = workflow
    return found


def load_workflows(folder: Path | None) -> dict[Operation, Workflow]:
    """The shipped workflows, each replaced by the operator's for the same operation."""
    workflows = _shipped()
    if folder is None:
        return workflows
    if not folder.is_dir():
        raise BackendConfigError(f"EASEL_COMFYUI_WORKFLOWS: {folder} is not a folder")
    for mapping_file in sorted(folder.glob("*.easel.json")):
        name = mapping_file.name.removesuffix(".easel.json")
        graph_file = folder / f"{name}.json"
        try:
            graph = json.loads(graph_file.read_text(encoding="utf-8"))
            mapping = json.loads(mapping_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise BackendConfigError(f"ComfyUI workflow {name!r}: {graph_file.name} is missing") from None
        except ValueError as exc:
            raise BackendConfigError(f"ComfyUI workflow {name!r}: not valid JSON ({exc})") from None
        workflow = parse_workflow(name, graph, mapping)
        workflows[workflow.operation] = workflow
    return workflows
