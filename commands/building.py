"""Pieces every ``build()`` shares: the checks first, the output size, the sampling fields, the input image.

A typical ``build()`` of a generating command::

    parsed = parse_invocation(inv, SPEC, limits)          # backend check + flags, before image work
    image = await required_image(inv, limits, SPEC.name)  # upload or stored original
    return generation_request(Operation.REMIX, inv, parsed, limits, width=..., height=..., init_image=...)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from commands.errors import MissingOption, OptionError, quote
from commands.flags import ParsedPrompt, given_raw, resolve
from commands.invocation import Invocation
from commands.sizes import check_size, nearest_aspect_ratio, size_for_ratio
from commands.spec import CommandSpec
from commands.values import normalize_choice
from services.backends.base import BackendLimits
from services.errors import InvalidRequest
from services.images import load_input_image
from services.types import GenerationRequest, InputImage, Operation

__all__ = [
    "applicable_defaults",
    "configured_model",
    "generation_request",
    "input_image",
    "missing_image",
    "model_limits",
    "output_size",
    "parse_invocation",
    "required_image",
    "sampling_fields",
    "unknown_model",
    "with_defaults",
]

# A personal default yields to any of these options given in the call itself.
_OVERRIDDEN_BY = {"aspect_ratio": ("aspect_ratio", "size")}


def applicable_defaults(inv: Invocation, spec: CommandSpec, limits: BackendLimits) -> dict[str, object]:
    """The person's defaults (``inv.defaults``) that fill a gap in this call, by option name.

    The one rule for ``/settings``: a typed option or a text flag always wins; a default for an
    option this command does not take is ignored (``/upscale`` has no aspect ratio).
    """
    applied: dict[str, object] = {}
    for name, value in inv.defaults.items():
        if spec.option(name) is None or inv.options.get(name) not in (None, ""):
            continue
        if any(
            given_raw(inv, spec, limits, other) is not None for other in _OVERRIDDEN_BY.get(name, (name,))
        ):
            continue
        applied[name] = value
    return applied


def with_defaults(inv: Invocation, spec: CommandSpec, limits: BackendLimits) -> Invocation:
    """``inv`` with the person's defaults added where the call gives no value (:func:`applicable_defaults`)."""
    if not inv.defaults:
        return inv
    options = {**inv.options, **applicable_defaults(inv, spec, limits)}  # fills blanks too
    return replace(inv, options=options, defaults={})


def parse_invocation(inv: Invocation, spec: CommandSpec, limits: BackendLimits) -> ParsedPrompt:
    """The cheap checks every command makes first: is it offered here, are its flags valid.

    Runs before any image is decoded, so a typo in a flag costs no image work. Commands
    without flags of their own call it too: a stray flag gets its clear message.
    """
    spec.check_available(limits)
    return resolve(with_defaults(inv, spec, limits), spec, limits)


def model_limits(inv: Invocation, spec: CommandSpec, limits: BackendLimits) -> BackendLimits:
    """The limits of the model this invocation runs on, resolved before anything is spent.

    ``--model`` (or the operator's default for this command, ``EASEL_DEFAULT_MODELS``) may pick a
    model whose sizes, steps or scales differ from the default's (``BackendLimits.for_model``):
    every other flag is validated against what this returns, whose ``default_model`` is the model
    chosen. A model that no backend serves for this command is refused here with the models that
    can do it, so the job is never queued and nothing is reserved.
    """
    raw = None
    if spec.option("model") is not None:
        raw = given_raw(with_defaults(inv, spec, limits), spec, limits, "model")
    if raw is None:
        chosen = limits.default_for(spec.operation)
    elif not limits.models:
        return limits  # the backend lists no models: it judges the name itself
    else:
        wanted = normalize_choice(raw)
        serving = limits.models_for(spec.operation)
        found = next((m for m in serving if normalize_choice(m) == wanted), None)
        if found is None:
            raise unknown_model(
                raw, spec, serving, known=any(normalize_choice(m) == wanted for m in limits.models)
            )
        chosen = found
    own = limits.for_model(chosen)
    if own is limits and chosen == limits.default_model:
        return limits
    return replace(own, default_model=chosen, models=limits.models, default_models=limits.default_models)


def unknown_model(raw: str, spec: CommandSpec, serving: tuple[str, ...], *, known: bool) -> OptionError:
    """The private reply to a ``--model`` no enabled backend serves for ``/command``."""
    shown = quote(raw)
    listed = ", ".join(serving[:10]) + (", …" if len(serving) > 10 else "")
    why = f"{shown} can't do /{spec.name}" if known else f"I don't know the model {shown}"
    more = (
        f"Models for /{spec.name}: {listed} (see /models)."
        if serving
        else f"No model here can do /{spec.name}."
    )
    return OptionError(f"{why}. {more} Nothing was spent.", option="model", log_detail=f"model {raw!r}")


def configured_model(operation: Operation, limits: BackendLimits) -> str | None:
    """The operator's default model for ``operation``'s command, when one is configured (else None:
    the backend's own default), so the stored request names the model that runs."""
    return dict(limits.default_models).get(operation.value)


def output_size(parsed: ParsedPrompt, limits: BackendLimits) -> tuple[int | None, int | None, str | None]:
    """``(width, height, aspect_ratio)`` for a text-to-image request.

    ``--ar`` maps to the nearest size the backend can make (keeping the ratio as typed);
    ``--size`` must be exact; neither gives ``limits.default_size``. Backends that take
    ratios instead of sizes (``limits.aspect_ratios``) get the nearest allowed ratio and no size.
    """
    ratio = parsed.get("aspect_ratio")
    size = parsed.get("size")
    if isinstance(ratio, str):
        if limits.aspect_ratios is not None and not limits.allowed_sizes:
            return None, None, nearest_aspect_ratio(ratio, limits.aspect_ratios)
        w, h = size_for_ratio(ratio, limits)
        return w, h, ratio
    if isinstance(size, tuple):
        w, h = check_size(size, limits)
        return w, h, None
    if limits.aspect_ratios is not None and not limits.allowed_sizes:
        return None, None, None
    return limits.default_size[0], limits.default_size[1], None


def sampling_fields(parsed: ParsedPrompt, limits: BackendLimits) -> dict[str, Any]:
    """Keyword arguments of ``GenerationRequest`` shared by imagine, remix, inpaint and outpaint.

    Steps and CFG scale are filled with the backend's defaults so the stored request says
    exactly what was run (rerolls reproduce it); the model stays None (backend default).
    """
    unsupported = limits.unsupported_options
    return {
        "samples": parsed.get_int("samples", 1),
        "seed": parsed.get_int("seed"),
        "steps": None if "steps" in unsupported else parsed.get_int("steps", limits.default_steps),
        "cfg_scale": (
            None if "cfg_scale" in unsupported else parsed.get_float("cfg_scale", limits.default_cfg_scale)
        ),
        "style_preset": parsed.get_str("style"),
        "sampler": parsed.get_str("sampler"),
        "scheduler": parsed.get_str("scheduler"),
        "model": parsed.get_str("model"),
    }


async def input_image(inv: Invocation, limits: BackendLimits, *, name: str = "image") -> InputImage | None:
    """The uploaded ``name`` image, loaded safely; else ``inv.source_image`` for ``"image"``.

    An upload wins over a stored original. Returns None when there is none (the caller
    decides whether that is an error).
    """
    data = inv.images.get(name)
    if data:
        try:
            return await load_input_image(data, limits, what=name)
        except OptionError:
            raise
        except InvalidRequest as exc:  # name the option, so the CLI can name the file given for it
            raise OptionError(exc.user_message, option=name, log_detail=exc.log_detail) from exc
    if name == "image":
        return inv.source_image
    return None


def generation_request(
    operation: Operation, inv: Invocation, parsed: ParsedPrompt, limits: BackendLimits, **fields: Any
) -> GenerationRequest:
    """A diffusion request: the prompts, the sampling fields and the source, plus ``fields``.

    ``fields`` are what the command itself decides: the size, the init image, the mask...
    """
    sampling = sampling_fields(parsed, limits)
    sampling["model"] = sampling["model"] or configured_model(operation, limits)
    return GenerationRequest(
        operation=operation,
        prompts=parsed.prompts,
        source=inv.source,
        **sampling,
        **fields,
    )


async def required_image(inv: Invocation, limits: BackendLimits, command: str) -> InputImage:
    """The ``"image"`` of ``/command`` (see :func:`input_image`); a clear error when there is none."""
    image = await input_image(inv, limits)
    if image is None:
        raise missing_image(command)
    return image


def missing_image(command: str) -> OptionError:
    return MissingOption(f"/{command} needs an image: please attach one.", option="image")
