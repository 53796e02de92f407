"""Which easel installation made a picture: the instance id in every invisible mark.

::

    instance_id = resolve_instance_id(settings.instance_id, settings.data_dir)   # "3fa2c01b"

``EASEL_INSTANCE_ID`` (8 hex digits) wins; otherwise a random id is made on first start and
kept in ``<data dir>/instance_id``, so marks stay attributable across restarts and upgrades.
Several processes sharing one data dir share the id, which is what a verifier wants.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import Final

from services.provenance.payload import INSTANCE_HEX

__all__ = ["INSTANCE_FILENAME", "INSTANCE_ID_PATTERN", "kept_instance_id", "resolve_instance_id"]

INSTANCE_FILENAME: Final = "instance_id"
INSTANCE_ID_PATTERN: Final = re.compile(rf"^[0-9a-f]{{{INSTANCE_HEX}}}$")


def kept_instance_id(configured: str | None, data_dir: Path) -> str | None:
    """The configured id, else the one kept in ``data_dir``; None if there is none (read-only)."""
    if configured:
        return configured.lower()
    try:
        kept = (data_dir / INSTANCE_FILENAME).read_text(encoding="ascii").strip().lower()
    except (OSError, UnicodeDecodeError):
        return None
    return kept if INSTANCE_ID_PATTERN.match(kept) else None


def resolve_instance_id(configured: str | None, data_dir: Path) -> str:
    """The configured id, else the one kept in ``data_dir`` (made and saved the first time)."""
    kept = kept_instance_id(configured, data_dir)
    if kept is not None:
        return kept
    path = data_dir / INSTANCE_FILENAME
    fresh = secrets.token_hex(INSTANCE_HEX // 2)
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(fresh + "\n", encoding="ascii")
    os.replace(tmp, path)
    return fresh
