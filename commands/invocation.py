"""What a front end hands to a command: the raw, platform-neutral user input.

Front ends translate their platform event into an :class:`Invocation` and call
``await SPEC.build(inv, backend.limits)``; they never validate options themselves::

    inv = Invocation(text="a lighthouse at dusk --ar 16:9 --no fog", options={"samples": 2})
    request = await commands.COMMANDS["imagine"].build(inv, backend.limits)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from services.types import InputImage, SourceRef

__all__ = ["Invocation"]


@dataclass(frozen=True)
class Invocation:
    """One command call.

    * ``text`` — the prompt exactly as typed, text flags included (``a castle --ar 16:9``).
    * ``options`` — typed options by :class:`~commands.options.OptionSpec` name (Discord
      options, Slack modal fields, CLI arguments); values may be strings or already typed.
    * ``images`` — raw uploaded bytes by option name (``"image"``, ``"mask"``).
    * ``source_image`` / ``source`` — a stored clean original, for buttons (vary, upscale).
    * ``defaults`` — the person's own defaults (``/settings``), used where the call says nothing.
    """

    text: str = ""
    options: Mapping[str, object] = field(default_factory=dict)
    images: Mapping[str, bytes] = field(default_factory=dict)
    source_image: InputImage | None = None
    source: SourceRef | None = None
    defaults: Mapping[str, object] = field(default_factory=dict)  # the person's /settings
