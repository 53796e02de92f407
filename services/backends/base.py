"""The contract every image backend fulfils, and the limits it declares.

Commands validate user input against :class:`BackendLimits` (never against
constants of their own), so switching backend or model changes what users may ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from services.types import CheckResult, GenerationRequest, GenerationResult, Operation, Progress

ProgressCallback = Callable[[Progress], Awaitable[None]]
#: Called with a backend's id for an asynchronous generation, to persist it before polling.
ResumeTokenCallback = Callable[[str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class BackendLimits:
    """What a backend (with its current default model) accepts.

    ``allowed_sizes`` is a closed list (SDXL on Stability v1) or ``None`` when any
    multiple of ``size_multiple`` between ``min_side`` and ``max_side`` with at most
    ``max_pixels`` pixels is fine (GPU hosts, older engines).
    """

    operations: frozenset[Operation]
    default_size: tuple[int, int] = (1024, 1024)
    allowed_sizes: tuple[tuple[int, int], ...] | None = None
    aspect_ratios: tuple[str, ...] | None = None  # backends that take ratios instead of sizes
    min_side: int = 320
    max_side: int = 1536
    size_multiple: int = 64
    max_pixels: int = 1536 * 1536
    min_pixels: int = 0
    samples: tuple[int, int] = (1, 10)
    seed: tuple[int, int] = (0, 4294967295)
    steps: tuple[int, int] = (10, 50)
    default_steps: int = 30
    cfg_scale: tuple[float, float] = (0.0, 35.0)
    default_cfg_scale: float = 7.0
    strength: tuple[float, float] = (0.0, 1.0)
    default_strength: float = 0.35
    style_presets: tuple[str, ...] = ()
    samplers: tuple[str, ...] = ()
    schedulers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    default_model: str = ""
    upscale_factors: tuple[int, ...] = (2,)
    max_upscale_output_pixels: int = 4_194_304
    max_input_bytes: int = 10 * 1024 * 1024
    max_input_pixels: int = 4096 * 4096
    max_prompt_chars: int = 2000
    supports_negative_weights: bool = True
    max_prompt_weight: float | None = None  # strongest ``::W`` the service defines (None: any)
    options: frozenset[str] = field(default_factory=frozenset)  # extra flags this backend understands
    # Option names (``commands.options``) this backend/model cannot take: refused with a clear message.
    unsupported_options: frozenset[str] = field(default_factory=frozenset)
    upscale_modes: tuple[str, ...] = ()  # e.g. Stability v2beta: fast, conservative, creative
    # The upscale modes steered by a prompt (which the API then requires): conservative, creative.
    guided_upscale_modes: tuple[str, ...] = ()
    outpaint_margin: tuple[int, int] = (0, 4096)  # pixels /outpaint may add per side
    # Quota cost units one image of this model takes (``services.backends.costs``; EASEL_MODEL_COSTS).
    units_per_image: int = 1
    # The operator's per-command default model (EASEL_DEFAULT_MODELS): operation value → model name.
    default_models: tuple[tuple[str, str], ...] = ()
    # What the backend accepts when the user picks another of ``models`` (``--model``): the limits
    # follow the model actually used. Models not listed use these limits.
    model_limits: tuple[tuple[str, BackendLimits], ...] = field(default=(), repr=False, compare=False)

    def for_model(self, model: str | None) -> BackendLimits:
        """The limits that apply when ``model`` runs (these, for the default or an unlisted model)."""
        if not model:
            return self
        return dict(self.model_limits).get(model, self)  # a router lists its default model here too

    def default_for(self, operation: Operation) -> str:
        """The model a job of ``operation`` runs on when no ``--model`` is given ("": the backend's own).

        The operator's per-command default first, else the default model when it can, else the
        first model that can (a router whose default model makes pictures but cannot upscale).
        """
        chosen = dict(self.default_models).get(operation.value) or self.default_model
        if chosen and operation not in self.for_model(chosen).operations:
            return next(iter(self.models_for(operation)), chosen)
        return chosen

    def models_for(self, operation: Operation) -> tuple[str, ...]:
        """The models that can run ``operation`` (for "try one of …" and ``/models``)."""
        return tuple(m for m in self.models if operation in self.for_model(m).operations)


@runtime_checkable
class Backend(Protocol):
    """An image backend. One instance is shared by all jobs; it owns its HTTP session."""

    name: str  # "stability", "gpu-host"

    async def start(self) -> None:
        """Open sessions and learn the backend's models/limits. Must not generate anything."""

    async def close(self) -> None: ...

    @property
    def limits(self) -> BackendLimits: ...

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        """Run one job. Raises :class:`services.errors.EaselError` subclasses only:
        ``BackendError`` for the service's failures, ``InvalidRequest`` for requests it
        can tell are unusable before sending them (e.g. an upscale over the pixel cap).

        Images withheld by a content filter come back with
        ``finish_reason=CONTENT_FILTERED`` (the job runner refunds them); if every
        image is withheld the backend may raise ``ContentFiltered`` instead.
        """

    async def check(self) -> list[CheckResult]:
        """Reachability/credential checks for ``easel check``; never generates."""

    async def cancel(self) -> None:
        """Best-effort interrupt of the running generation (GPU hosts); may be a no-op."""


# Optional capabilities: checked with ``isinstance``, never ``getattr``.


@runtime_checkable
class ResumableBackend(Protocol):
    """A backend whose generations may be asynchronous: it hands out a resume token (persisted on
    the job row) so a restart polls the same generation instead of paying for a second one.

    A backend that subclasses this protocol explicitly inherits :meth:`generate`: a fresh
    generation is a resumable one with no token to resume and none to keep.
    """

    async def generate_resumable(
        self,
        request: GenerationRequest,
        progress: ProgressCallback | None,
        *,
        resume_token: str | None,
        on_resume_token: ResumeTokenCallback | None,
    ) -> GenerationResult: ...

    async def generate(
        self, request: GenerationRequest, progress: ProgressCallback | None = None
    ) -> GenerationResult:
        return await self.generate_resumable(request, progress, resume_token=None, on_resume_token=None)


@runtime_checkable
class BalanceReporter(Protocol):
    """A backend with a paid account whose credits the operator can see (``/status``, ``easel check``)."""

    async def balance(self) -> float: ...


@runtime_checkable
class HostStateReporter(Protocol):
    """A backend spread over several hosts, each with a state worth showing operators."""

    def host_states(self) -> Mapping[str, object]: ...
