"""``easel models [COMMAND] [--json]``: what ``/models`` shows in chat, from the operator's shell.

::

    easel models                 # every command, each model's service, limits, cost, default
    easel models imagine         # one command
    easel models --json          # the same listing as JSON (``commands.models.ModelListing.to_json``)

It starts the configured backends (no database, no generation), asks each service whether it
works now (the ``easel check`` probes) and prints the shared listing, so it also works while
``easel run`` is up. Exit status 1 when a listed model is unavailable right now.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import TYPE_CHECKING, Any

from bot.cli_common import EXIT_BACKEND, EXIT_OK, EXIT_USAGE, fail

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["add_models_command", "run_models"]


def add_models_command(sub: Any) -> None:
    p = sub.add_parser(
        "models",
        help="list the models each command can use now, with their limits and cost",
        description="The models each command can use right now: service, limits, cost units per image.",
    )
    p.add_argument("only", nargs="?", default=None, metavar="COMMAND", help="one command, e.g. imagine")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=run_models)


def run_models(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_models(settings, args))


async def _models(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import build_backend
    from commands.models import ModelListing, detail_lines, model_listing
    from commands.replies import PLAIN
    from services.backends.catalogue import ModelCatalogue

    backend = build_backend(settings)
    await backend.start()
    try:
        catalogue = ModelCatalogue(backend, plugin=settings.backend_names[0], costs=settings.model_costs)
        listing = model_listing(await catalogue.snapshot())
    finally:
        await backend.close()
    if args.only is not None:
        one = listing.command(args.only)
        if one is None:
            known = ", ".join(c.command for c in listing.commands)
            return fail(f"no enabled model serves {args.only!r}; commands with models: {known}", EXIT_USAGE)
        listing = ModelListing((one,))
    if args.json:
        print(json.dumps(listing.to_json(), indent=2))
    else:
        print("\n\n".join("\n".join(detail_lines(c, PLAIN)) for c in listing.commands))
    all_up = all(m.available for c in listing.commands for m in c.models)
    return EXIT_OK if all_up else EXIT_BACKEND
