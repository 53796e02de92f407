"""The ``easel`` command line.

::

    easel run [--role all|gateway|worker]       # start the configured chat front ends (and/or job workers)
    easel check                                 # verify configuration and reachability
    easel imagine "a lighthouse at dusk --ar 3:2 --n 2 --seed 42 --no fog" --out out/
    easel remix "PROMPT --strength 0.4" --image in.png --out out/
    easel inpaint "PROMPT" --image in.png --mask mask.png --out out/
    easel upscale --image in.png --out out/
    easel quota [ACCOUNT] [--reset]             # show or give back an account's daily units
    easel slack-manifest --url https://your-host/slack/events
    easel verify shot.jpg [--json]              # does a picture carry this bot's invisible mark?
    easel keys init                             # a development C2PA signing pair
    easel migrate [--down N | --to URL]         # schema version; undo newer migrations; copy to PostgreSQL
    easel admin [--server ID] limits|set|grant|ban|unban|audit   # the admin commands
    easel models [COMMAND] [--json]             # the models each command can use now, limits, cost

Each subcommand lives in its own module and registers itself with one line in
:func:`build_parser` (``bot/cli_generate.py`` builds one subcommand per
:data:`commands.COMMANDS`, so the CLI offers exactly the options the chat front ends do). A
subparser sets ``handler``: a function of the parsed arguments returning the exit status.
Nothing heavy is imported and no setting is read until a handler runs, so ``easel --help``
is quick (``bench/cli_start.py``).

Exit codes: 0 success (``easel run``: stopped by SIGTERM/SIGINT), 1 the backend failed or a
front end could not start (wrong token, platform unreachable, port taken), 2 bad input or
configuration (including another easel process on the same ``EASEL_DATA_DIR``, a damaged
database, a data dir or ``--out`` easel cannot write), 3 quota
exhausted, 130 interrupted by Ctrl-C (the job cancelled and refunded).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NoReturn

from bot import __version__
from bot.cli_admin import add_admin_command
from bot.cli_backup import add_backup_command
from bot.cli_common import (
    EXIT_BACKEND,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_QUOTA,
    EXIT_USAGE,
    fail,
    load_cli_settings,
    scrub,
)
from bot.cli_generate import add_generation_commands
from bot.cli_history import add_history_command
from bot.cli_keys import add_keys_parser
from bot.cli_migrate import add_migrate_command
from bot.cli_models import add_models_command
from bot.cli_quota import add_quota_command
from bot.cli_verify import add_verify_parser

if TYPE_CHECKING:
    from bot.settings import Settings

__all__ = ["EXIT_BACKEND", "EXIT_OK", "EXIT_QUOTA", "EXIT_USAGE", "build_parser", "main"]

Handler = Callable[["Settings", argparse.Namespace], int]

#: ``easel run --role`` choices: :class:`services.jobs.Role`'s values, spelt out so ``--help``
#: does not import the job service (a test keeps the two equal).
RUN_ROLES = ("all", "gateway", "worker")


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default, made explicit)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"easel: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="easel", description="Image generation for Discord and Slack.")
    parser.add_argument("--version", action="version", version=f"easel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    run = sub.add_parser("run", help="start the configured chat front ends (Discord, Slack)")
    run.add_argument(
        "--role",
        choices=RUN_ROLES,
        help="all (default, or EASEL_ROLE): everything in one process; gateway: the chat connections; "
        "worker: runs the queued jobs. gateway and worker share EASEL_DATABASE_URL (PostgreSQL)",
    )
    run.set_defaults(handler=_run)
    sub.add_parser(
        "check", help="verify the configuration and reach the backend and each configured chat platform"
    ).set_defaults(handler=_check)
    add_generation_commands(sub)
    add_quota_command(sub)
    add_migrate_command(sub)
    add_admin_command(sub)
    add_verify_parser(sub)
    add_keys_parser(sub)
    add_backup_command(sub)
    add_history_command(sub)
    add_models_command(sub)
    manifest = sub.add_parser(
        "slack-manifest",
        help="print the Slack app manifest (--url https://…/slack/events, or --socket-mode)",
        add_help=False,
    )
    manifest.add_argument("manifest_args", nargs=argparse.REMAINDER)  # main() hands them over whole
    return parser


def _unquoted_prompt(args: argparse.Namespace, extras: list[str]) -> str:
    """``unrecognized arguments: lighthouse at dusk`` plus how to quote it, for prompt-taking commands."""
    message = f"unrecognized arguments: {' '.join(extras)}"
    if getattr(args, "takes_prompt", False):
        words = " ".join(w for w in (args.prompt, *extras) if w).replace('"', '\\"')
        message += f'\neasel: a prompt of several words goes in quotes (text flags too): easel {args.command} "{words}"'
    return message


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv == ["--version"]:  # no parser needed: as fast as Python starts
        print(f"easel {__version__}")
        return EXIT_OK
    if argv[:1] == ["slack-manifest"]:  # its own parser (bot.slack.manifest) reads the rest
        return _slack_manifest(argv[1:])
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if extras:
        return fail(_unquoted_prompt(args, extras), EXIT_USAGE)
    handler: Handler = args.handler
    from bot.errors import SettingsError
    from services.data_dir import StorageUnusable
    from services.errors import StorageUnavailable
    from services.jobs import DataDirBusy

    try:
        settings = load_cli_settings()
    except SettingsError as exc:
        return fail(str(exc), EXIT_USAGE)

    from bot.logs import configure_logging

    configure_logging(settings.log_level if args.command == "run" else "WARNING", settings.secret_values())
    try:
        return handler(settings, args)
    except (SettingsError, DataDirBusy, StorageUnusable) as exc:
        return fail(scrub(str(exc), settings), EXIT_USAGE)
    except StorageUnavailable as exc:  # e.g. the bucket is unreachable while queued jobs are recovered
        return fail(scrub(f"image store: {exc.log_detail or exc}", settings), EXIT_USAGE)
    except KeyboardInterrupt:  # before a job existed (jobs handle their own Ctrl-C)
        return fail("interrupted.", EXIT_INTERRUPTED)


def _run(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from bot.errors import StartupError
    from bot.runner import serve
    from bot.settings import missing_for_run
    from services.jobs import Role

    role = Role(args.role) if args.role else settings.role
    if role is not Role.ALL and settings.database is None:
        return fail(
            f"easel run --role {role} needs EASEL_DATABASE_URL=postgresql://…: every gateway and worker "
            "shares that database (SQLite serves one process)",
            EXIT_USAGE,
        )
    missing = missing_for_run(settings)
    if missing:
        lines = "\n".join(f"  - {m}" for m in missing)
        return fail(
            f"nothing to run yet. Set these environment variables (or put them in .env):\n{lines}", EXIT_USAGE
        )
    try:
        asyncio.run(serve(settings, role=role))
    except StartupError as exc:
        return fail(scrub(str(exc), settings), EXIT_BACKEND)
    return EXIT_OK


def _check(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from bot.check import run_check

    return asyncio.run(run_check(settings))


def _slack_manifest(argv: list[str]) -> int:
    """``easel slack-manifest [--url URL | --socket-mode] [--name NAME]``: needs no settings."""
    from bot.slack.manifest import main as print_manifest

    try:
        print_manifest(argv, prog="easel slack-manifest")
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0) if isinstance(exc.code, int | None) else EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
