"""The node classes the fake ComfyUI host offers (``/object_info`` shapes) and ComfyUI's graph
validation: every node's class exists, every required input is given, links point at an existing
node's output of the right type, widget values have the right type, range and choice.

Error bodies are ComfyUI's: ``{"error": {"type", "message", "details", "extra_info"},
"node_errors": {id: {"errors": [...], "dependent_outputs": [...], "class_type": ...}}}``.
"""

from __future__ import annotations

from typing import Any

CHECKPOINTS = ["sd_xl_base_1.0.safetensors", "juggernautXL_v9.safetensors"]
SAMPLERS = ["euler", "euler_ancestral", "dpmpp_2m", "dpmpp_2m_sde", "ddim"]
SCHEDULERS = ["normal", "karras", "exponential", "simple"]
UPSCALE_MODELS = ["4x-UltraSharp.pth"]
INT_MAX = 0xFFFFFFFFFFFFFFFF


def node_classes(inputs: list[str]) -> dict[str, dict[str, Any]]:
    """``/object_info``; ``inputs`` is the host's input folder (LoadImage's choices)."""

    def node(required: dict[str, Any], output: list[str], *, output_node: bool = False) -> dict[str, Any]:
        return {
            "input": {"required": required},
            "output": output,
            "output_node": output_node,
            "category": "fake",
        }

    return {
        "CheckpointLoaderSimple": node({"ckpt_name": [CHECKPOINTS]}, ["MODEL", "CLIP", "VAE"]),
        "CLIPTextEncode": node({"text": ["STRING", {"multiline": True}], "clip": ["CLIP"]}, ["CONDITIONING"]),
        "EmptyLatentImage": node(
            {
                "width": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "height": ["INT", {"default": 512, "min": 16, "max": 16384, "step": 8}],
                "batch_size": ["INT", {"default": 1, "min": 1, "max": 4096}],
            },
            ["LATENT"],
        ),
        "KSampler": node(
            {
                "model": ["MODEL"],
                "seed": ["INT", {"default": 0, "min": 0, "max": INT_MAX}],
                "steps": ["INT", {"default": 20, "min": 1, "max": 10000}],
                "cfg": ["FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0}],
                "sampler_name": [SAMPLERS],
                "scheduler": [SCHEDULERS],
                "positive": ["CONDITIONING"],
                "negative": ["CONDITIONING"],
                "latent_image": ["LATENT"],
                "denoise": ["FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0}],
            },
            ["LATENT"],
        ),
        "VAEDecode": node({"samples": ["LATENT"], "vae": ["VAE"]}, ["IMAGE"]),
        "VAEEncode": node({"pixels": ["IMAGE"], "vae": ["VAE"]}, ["LATENT"]),
        "VAEEncodeForInpaint": node(
            {
                "pixels": ["IMAGE"],
                "vae": ["VAE"],
                "mask": ["MASK"],
                "grow_mask_by": ["INT", {"default": 6, "min": 0, "max": 64}],
            },
            ["LATENT"],
        ),
        "LoadImage": node({"image": [sorted(inputs), {"image_upload": True}]}, ["IMAGE", "MASK"]),
        "LoadImageMask": node(
            {"image": [sorted(inputs)], "channel": [["alpha", "red", "green", "blue"]]}, ["MASK"]
        ),
        "SaveImage": node(
            {"images": ["IMAGE"], "filename_prefix": ["STRING", {"default": "ComfyUI"}]}, [], output_node=True
        ),
        "UpscaleModelLoader": node({"model_name": [UPSCALE_MODELS]}, ["UPSCALE_MODEL"]),
        "ImageUpscaleWithModel": node({"upscale_model": ["UPSCALE_MODEL"], "image": ["IMAGE"]}, ["IMAGE"]),
        "ImageScaleBy": node(
            {
                "image": ["IMAGE"],
                "upscale_method": [["nearest-exact", "bilinear", "area", "bicubic", "lanczos"]],
                "scale_by": ["FLOAT", {"default": 1.0, "min": 0.01, "max": 8.0}],
            },
            ["IMAGE"],
        ),
    }


def _error(kind: str, message: str, details: str = "") -> dict[str, Any]:
    return {"type": kind, "message": message, "details": details, "extra_info": {}}


def validate(graph: Any, info: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """ComfyUI's answer body for an invalid graph, or None when it may run."""
    if not isinstance(graph, dict) or not graph:
        return {
            "error": _error("invalid_prompt", "Prompt has no properly connected outputs"),
            "node_errors": {},
        }
    for node_id, node in graph.items():
        class_type = node.get("class_type") if isinstance(node, dict) else None
        if class_type not in info:
            return {"error": _error("invalid_prompt", f"Cannot execute because node {class_type} does not exist.",
                                    f"Node ID '#{node_id}'"), "node_errors": {}}  # fmt: skip
    outputs = [nid for nid, node in graph.items() if info[node["class_type"]]["output_node"]]
    if not outputs:
        return {"error": _error("prompt_no_outputs", "Prompt has no outputs"), "node_errors": {}}
    node_errors: dict[str, Any] = {}
    for node_id, node in graph.items():
        errors = _node_errors(graph, node, info)
        if errors:
            node_errors[node_id] = {
                "errors": errors,
                "dependent_outputs": outputs,
                "class_type": node["class_type"],
            }
    if node_errors:
        return {
            "error": _error("prompt_outputs_failed_validation", "Prompt outputs failed validation"),
            "node_errors": node_errors,
        }
    return None


def _node_errors(graph: dict[str, Any], node: dict[str, Any], info: dict[str, Any]) -> list[dict[str, Any]]:
    errors = []
    given = node.get("inputs") or {}
    for name, spec in info[node["class_type"]]["input"]["required"].items():
        kind, options = spec[0], spec[1] if len(spec) > 1 else {}
        if name not in given:
            errors.append(_error("required_input_missing", "Required input is missing", name))
            continue
        value = given[name]
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
            source = graph.get(value[0])
            if source is None:
                errors.append(_error("invalid_link", "Linked node does not exist", f"{name}: {value[0]}"))
                continue
            produced = info[source["class_type"]]["output"]
            index = value[1]
            if (
                not isinstance(index, int)
                or not 0 <= index < len(produced)
                or (isinstance(kind, str) and produced[index] != kind)
            ):
                errors.append(
                    _error("return_type_mismatch", "Return type mismatch between linked nodes", f"{name}")
                )
            continue
        if isinstance(kind, list):
            if value not in kind:
                errors.append(
                    _error("value_not_in_list", "Value not in list", f"{name}: '{value}' not in {kind}")
                )
        elif kind == "INT":
            if not isinstance(value, int) or isinstance(value, bool):
                errors.append(
                    _error("invalid_input_type", "Failed to convert an input value to a INT value", name)
                )
            elif not options.get("min", -INT_MAX) <= value <= options.get("max", INT_MAX):
                errors.append(_error("value_out_of_range", "Value out of range", f"{name}: {value}"))
            elif "step" in options and value % options["step"]:
                errors.append(
                    _error(
                        "value_not_step", f"Value must be a multiple of {options['step']}", f"{name}: {value}"
                    )
                )
        elif kind == "FLOAT":
            if not isinstance(value, int | float) or isinstance(value, bool):
                errors.append(
                    _error("invalid_input_type", "Failed to convert an input value to a FLOAT value", name)
                )
            elif not options.get("min", float("-inf")) <= value <= options.get("max", float("inf")):
                errors.append(_error("value_out_of_range", "Value out of range", f"{name}: {value}"))
        elif kind == "STRING":
            if not isinstance(value, str):
                errors.append(
                    _error("invalid_input_type", "Failed to convert an input value to a STRING value", name)
                )
        else:
            errors.append(_error("required_input_missing", f"{name} must be linked to a {kind} output", name))
    return errors
