"""``easel keys init [--dir DIR]``: a development C2PA signing pair for content credentials.

::

    $ easel keys init
    wrote data/c2pa/cert.pem and data/c2pa/key.pem (development pair: readers show it as untrusted)
    set EASEL_C2PA_CERT=data/c2pa/cert.pem EASEL_C2PA_KEY=data/c2pa/key.pem

Existing files are never overwritten (exit 2). The key file is created readable by its owner only.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_keys_parser", "run_keys"]


def add_keys_parser(sub: Any) -> None:
    """Register ``easel keys init`` on the CLI's subparsers."""
    p = sub.add_parser("keys", help="content-credential (C2PA) signing keys")
    action = p.add_subparsers(dest="keys_action", metavar="ACTION", required=True)
    init = action.add_parser("init", help="make a self-made development signing pair (untrusted by readers)")
    init.add_argument("--dir", type=Path, default=None, help="where to write (default: EASEL_DATA_DIR/c2pa)")
    p.set_defaults(handler=run_keys)


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    from services.provenance.devkeys import development_pair  # cryptography: only when asked

    folder: Path = args.dir or settings.data_dir / "c2pa"
    cert, key = folder / "cert.pem", folder / "key.pem"
    taken = [str(p) for p in (cert, key) if p.exists()]
    if taken:
        print(f"easel: {' and '.join(taken)} already exist; not overwriting", file=sys.stderr)
        return 2
    chain, pem_key = development_pair()
    folder.mkdir(parents=True, exist_ok=True)
    cert.write_bytes(chain)
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem_key)
    print(f"wrote {cert} and {key} (development pair: readers show its credentials as untrusted)")
    print(f"set EASEL_C2PA_CERT={cert} EASEL_C2PA_KEY={key}")
    return 0
