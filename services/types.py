"""Values that cross layers: what a command asks for and what a backend returns.

All frozen; images travel as encoded bytes (PNG) so they can be stored, hashed and
sent without re-encoding. Platform objects never appear here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

#: Signs a re-encoded copy with the job's content credentials: ``sign(data, mime) -> data``.
Recredential = Callable[[bytes, str], bytes]


class Operation(StrEnum):
    """What a job does. Backends declare which of these they support."""

    IMAGINE = "imagine"  # text to image
    REMIX = "remix"  # image to image
    INPAINT = "inpaint"  # image to image with a mask
    UPSCALE = "upscale"
    OUTPAINT = "outpaint"
    DESCRIBE = "describe"  # image to prompt
    REPLACE = "replace"  # search-and-replace an object (Stability v2beta)
    CUTOUT = "cutout"  # remove the background (Stability v2beta)


class MaskSource(StrEnum):
    """Which pixels of the mask are repainted (Stability's mask_source, easel spelling)."""

    WHITE = "white"  # white pixels are repainted (MASK_IMAGE_WHITE)
    BLACK = "black"  # black pixels are repainted (MASK_IMAGE_BLACK)
    ALPHA = "alpha"  # transparent pixels of the init image are repainted (INIT_IMAGE_ALPHA)


@dataclass(frozen=True, slots=True)
class WeightedPrompt:
    """One text prompt; negative weight means "avoid this" (``--no fog`` → weight -1)."""

    text: str
    weight: float = 1.0


@dataclass(frozen=True, slots=True)
class InputImage:
    """A user-supplied image, already sniffed, bounded, oriented and re-encoded as PNG."""

    png: bytes
    width: int
    height: int
    has_alpha: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Points at a stored clean original, for upscale/vary/remix buttons."""

    job_id: str
    index: int


@dataclass(frozen=True, slots=True)
class OutpaintMargins:
    left: int = 0
    right: int = 0
    up: int = 0
    down: int = 0


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """Everything a backend needs for one job, validated against that backend's limits.

    ``strength`` is easel's public meaning: how much of the source image to keep
    (0 = ignore it, 1 = keep it exactly) — Stability v1's ``image_strength``.
    ``seed=None`` lets the backend choose; the chosen seed comes back per image.
    """

    operation: Operation
    prompts: tuple[WeightedPrompt, ...] = ()
    width: int | None = None
    height: int | None = None
    aspect_ratio: str | None = None  # "16:9" as typed, for backends that take ratios
    samples: int = 1
    seed: int | None = None
    steps: int | None = None
    cfg_scale: float | None = None
    style_preset: str | None = None
    sampler: str | None = None
    scheduler: str | None = None
    model: str | None = None
    strength: float | None = None
    mask_source: MaskSource | None = None
    init_image: InputImage | None = None
    mask_image: InputImage | None = None
    upscale_factor: int = 2
    outpaint: OutpaintMargins | None = None
    source: SourceRef | None = None
    extras: tuple[tuple[str, str], ...] = ()  # backend-specific options, validated by commands

    @property
    def positive_prompt(self) -> str:
        return ", ".join(p.text for p in self.prompts if p.weight >= 0)

    @property
    def negative_prompt(self) -> str:
        return ", ".join(p.text for p in self.prompts if p.weight < 0)

    @property
    def images_requested(self) -> int:
        """How many images this job will charge for (quota unit)."""
        return self.samples


class FinishReason(StrEnum):
    SUCCESS = "SUCCESS"
    CONTENT_FILTERED = "CONTENT_FILTERED"
    ERROR = "ERROR"


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    """One image exactly as the backend returned it (the clean original)."""

    png: bytes
    seed: int
    width: int
    height: int
    finish_reason: FinishReason = FinishReason.SUCCESS


@dataclass(frozen=True, slots=True)
class GenerationResult:
    images: tuple[GeneratedImage, ...]
    backend: str  # "stability", "gpu-host"
    model: str  # engine / checkpoint that made them
    text: str | None = None  # /describe returns a prompt instead of images
    fallback_from: str | None = None  # the model asked for, when its fallback made these (routing)
    usage_tokens: int | None = None  # tokens the service billed, when it says (OpenAI's ``usage``)


@dataclass(frozen=True, slots=True)
class Progress:
    """A progress report from a running backend call."""

    fraction: float  # 0..1
    eta_s: float | None = None
    preview_png: bytes | None = None
    message: str = ""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of ``easel check``."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Venue:
    """Where a request was made: what community rules (budgets, policy, NSFW) are scoped by.

    ``server_id`` is the Discord guild or Slack workspace ("" in DMs and on the CLI);
    ``role_ids`` are the member's Discord roles (Slack user groups are looked up by id
    when needed); ``nsfw`` is the platform's own age-restricted flag on the channel.
    """

    server_id: str = ""
    channel_id: str = ""
    role_ids: frozenset[str] = frozenset()
    nsfw: bool = False


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, and from where: the quota key is ``platform:user_id``."""

    platform: str
    user_id: str
    display_name: str = ""
    venue: Venue = field(default_factory=Venue)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True, slots=True)
class PublishedImage:
    """What a front end posts: the watermarked copy plus what it needs for buttons."""

    index: int
    data: bytes  # watermarked, encoded
    filename: str  # e.g. "easel-<job>-1.png"
    content_type: str
    seed: int
    width: int
    height: int
    # With content credentials on: signs a copy that upload fitting re-encoded (services.encoding),
    # so what is posted carries a valid manifest, not one the re-encode broke or dropped.
    recredential: Recredential | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """The delivered result of a job (only successful images)."""

    job_id: str
    request: GenerationRequest
    requester: Requester
    images: tuple[PublishedImage, ...]
    backend: str
    model: str
    filtered: int = 0  # images withheld by the content filter (refunded)
    text: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    fallback_from: str | None = None  # the model asked for, when its fallback made these
    usage_tokens: int | None = None  # what the service billed in tokens (settled in units)
