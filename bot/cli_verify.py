"""``easel verify IMAGE... [--json]``: which pictures carry this installation's invisible mark.

::

    $ easel verify shot.jpg other.png
    shot.jpg: easel mark found: made by this bot (instance 3fa2c01b, job 9c1e0d2a7b44).
    shot.jpg: Made on 2026-12-02 16:00 UTC by /imagine with sdxl.
    other.png: No easel mark found.
    $ easel verify --json shot.jpg
    {"command": "imagine", "instance": "3fa2c01b", "job": "9c1e0d2a7b44", "mark": true, "path": "shot.jpg", ...}

Exit codes: 0 every picture carries a mark, 1 some do not, 2 bad input (unreadable file, not a
picture). Jobs are looked up read-only in ``EASEL_DATA_DIR`` when its database exists (no
backend or chat platform is needed); the CLI runs on the host, so it is an operator and is told
who asked.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from commands.info import VERIFY

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_verify_parser", "run_verify"]

EXIT_ALL_MARKED, EXIT_SOME_UNMARKED, EXIT_BAD_INPUT = 0, 1, 2


def add_verify_parser(sub: Any) -> None:
    """Register ``easel verify`` on the CLI's subparsers (the detector loads only when it runs)."""
    p = sub.add_parser(VERIFY.name, help=VERIFY.description.lower(), description=VERIFY.description)
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE", help="pictures to check")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=_handle)


def _handle(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(run_verify(settings, args))


def _read(path: Path) -> bytes:
    from services.errors import InvalidRequest
    from services.provenance.verify import VERIFY_LIMITS

    try:
        with path.open("rb") as fh:
            return fh.read(VERIFY_LIMITS.max_input_bytes + 1)  # the size check lives in services.images
    except OSError as exc:
        raise InvalidRequest(f"can't read {path}: {exc.strerror or exc}") from None


async def run_verify(settings: Settings, args: argparse.Namespace) -> int:
    """Verify each path in ``args.images``; see the module docstring for output and exit codes."""
    from commands.verify import verification_lines
    from services.db import DB_FILENAME, Database
    from services.errors import InvalidRequest
    from services.jobs.records import JobRecords
    from services.provenance.instance import kept_instance_id
    from services.provenance.verify import Verification, Verifier
    from services.store import ImageStore

    async with AsyncExitStack() as stack:
        find_job = None
        if settings.database or (settings.data_dir / DB_FILENAME).is_file():
            db = await Database.open(settings.data_dir, url=settings.database)
            stack.push_async_callback(db.close)
            find_job = JobRecords(db, ImageStore(settings.data_dir, db)).find_by_prefix
        verifier = Verifier(kept_instance_id(settings.instance_id, settings.data_dir), find_job)
        code = EXIT_ALL_MARKED
        for path in args.images:
            try:
                result: Verification | None = await verifier.verify(_read(path), operator=True)
            except InvalidRequest as exc:
                result, code = None, EXIT_BAD_INPUT
                message = exc.user_message
            if result is not None and not result.mark and code == EXIT_ALL_MARKED:
                code = EXIT_SOME_UNMARKED
            if args.json:
                fields = result.as_json() if result is not None else {"mark": False, "error": message}
                print(json.dumps({"path": str(path), **fields}, sort_keys=True))
            elif result is None:
                print(f"{path}: {message}", file=sys.stderr)
            else:
                for line in verification_lines(result):
                    print(f"{path}: {line}")
    return code
