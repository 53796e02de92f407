"""The ``easel`` command line.

::

    easel run                                   # start the configured chat front ends
    easel check                                 # verify configuration and reachability
    easel imagine "a lighthouse at dusk --ar 3:2 --n 2 --seed 42 --no fog" --out out/
    easel remix "PROMPT --strength 0.4" --image in.png --out out/
    easel inpaint "PROMPT" --image in.png --mask mask.png --out out/
    easel upscale --image in.png --out out/
    easel verify shot.jpg [--json]              # does a picture carry this bot's invisible mark?
    easel keys init                             # a development C2PA signing pair

Generation subcommands are generated from :data:`commands.COMMANDS`, so the CLI
offers exactly the options the chat front ends do. Exit codes: 0 success (``easel run``:
stopped by SIGTERM/SIGINT), 1 the backend failed or a front end could not start (wrong
token, platform unreachable, port taken), 2 bad input or configuration (including another
easel process on the same ``EASEL_DATA_DIR``), 3 quota exhausted.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import __version__
from bot.cli_keys import add_keys_parser, run_keys
from bot.cli_verify import add_verify_parser, run_verify
from bot.errors import SettingsError, StartupError
from bot.settings import Settings, load_settings, missing_for_run
from services.jobs import DataDirBusy

EXIT_OK, EXIT_BACKEND, EXIT_USAGE, EXIT_QUOTA = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message (its default, made explicit)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"easel: {message}\n")


def _option_flag(option: Any) -> str:
    """The CLI spelling of an option: its text flag (``--ar``) or, for images, its name (``--image``)."""
    return "--" + (option.flag or option.name.replace("_", "-"))


def build_parser() -> argparse.ArgumentParser:
    from commands import COMMANDS

    parser = _Parser(prog="easel", description="Image generation for Discord and Slack.")
    parser.add_argument("--version", action="version", version=f"easel {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.add_parser("run", help="start the configured chat front ends (Discord, Slack)")
    sub.add_parser("check", help="verify the configuration and reach each configured service")
    add_verify_parser(sub)
    add_keys_parser(sub)
    for name, spec in COMMANDS.items():
        p = sub.add_parser(name, help=spec.description, description=spec.description)
        p.add_argument(
            "prompt",
            nargs="?",
            default="",
            help="prompt text; text flags like --ar 16:9 go inside the quotes",
        )
        for option in spec.options:
            if option.name == "prompt":
                continue
            flag = _option_flag(option)
            if option.kind == "image":
                p.add_argument(flag, dest=f"opt_{option.name}", metavar="PATH", type=Path, help=option.help)
            elif option.flag is not None:
                metavar = option.metavar or option.kind.upper()
                p.add_argument(flag, dest=f"opt_{option.name}", metavar=metavar, help=option.help)
        p.add_argument("--out", type=Path, default=Path("out"), help="folder for the images (default: out/)")
        p.add_argument("--json", action="store_true", help="print one JSON object per image")
        p.add_argument("--user", default=None, help="quota account to charge (default: your login name)")
    return parser


def _fail(message: str, code: int) -> int:
    print(f"easel: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc), EXIT_USAGE)

    from bot.logs import configure_logging

    configure_logging(settings.log_level if args.command == "run" else "WARNING", _secrets(settings))
    try:
        if args.command == "run":
            return _run(settings)
        if args.command == "check":
            from bot.check import run_check

            return asyncio.run(run_check(settings))
        if args.command == "verify":
            return asyncio.run(run_verify(settings, args))
        if args.command == "keys":
            return run_keys(settings, args)
        return asyncio.run(_generate(settings, args))
    except (SettingsError, DataDirBusy) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return 130


def _secrets(settings: Settings) -> list[str]:
    return settings.secret_values()


def _scrub(message: str, settings: Settings) -> str:
    for secret in _secrets(settings):
        if secret:
            message = message.replace(secret, "***")
    return message


def _run(settings: Settings) -> int:
    from bot.runner import serve

    missing = missing_for_run(settings)
    if missing:
        lines = "\n".join(f"  - {m}" for m in missing)
        return _fail(
            f"nothing to run yet. Set these environment variables (or put them in .env):\n{lines}", EXIT_USAGE
        )
    try:
        asyncio.run(serve(settings))
    except StartupError as exc:
        return _fail(_scrub(str(exc), settings), EXIT_BACKEND)
    return EXIT_OK


def _read_image(option: str, path: Path, max_bytes: int) -> bytes:
    from services.errors import InvalidRequest

    try:
        with path.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidRequest(f"can't read --{option} {path}: {exc.strerror or exc}") from None
    return data  # the size check itself lives in services.images


async def _generate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_services
    from bot.cli_sink import CliSink
    from commands import COMMANDS
    from commands.invocation import Invocation
    from services.errors import EaselError, InvalidRequest, QuotaExceeded
    from services.types import Requester

    spec = COMMANDS[args.command]
    problems = settings.backend_problems()
    if problems:
        return _fail("no image backend configured: set " + "; ".join(problems), EXIT_USAGE)

    options: dict[str, Any] = {}
    image_paths: dict[str, Path] = {}
    for key, value in vars(args).items():
        if key.startswith("opt_") and value is not None:
            name = key[4:]
            if isinstance(value, Path):
                image_paths[name] = value
            else:
                options[name] = value

    requester = Requester("cli", args.user or getpass.getuser(), args.user or getpass.getuser())
    origin = {"platform": "cli", "out_dir": str(args.out.resolve()), "json": bool(args.json)}
    async with open_services(settings) as services:
        services.jobs.register_platform("cli", lambda record: CliSink(record.origin))
        await services.jobs.start()
        try:
            images = {
                name: _read_image(name, path, services.limits.max_input_bytes)
                for name, path in image_paths.items()
            }
            request = await spec.build(
                Invocation(text=args.prompt, options=options, images=images), services.limits
            )
            submitted = await services.jobs.submit(requester, request, origin=origin)
            await services.jobs.wait(submitted.job_id)
        except InvalidRequest as exc:
            return _fail(exc.user_message, EXIT_USAGE)
        except QuotaExceeded as exc:
            return _fail(exc.user_message, EXIT_QUOTA)
        except EaselError as exc:
            return _fail(exc.user_message, EXIT_BACKEND)
    return EXIT_OK


def json_line(obj: dict[str, Any]) -> str:
    return json.dumps(obj, sort_keys=True)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
