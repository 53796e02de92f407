"""The generation subcommands (``easel imagine|remix|inpaint|upscale|…``), one per :data:`commands.COMMANDS`.

::

    easel imagine "a lighthouse at dusk --ar 3:2 --n 2" --out out/
    easel upscale --image in.png --out out/

The job goes through the same queue, quota and store as chat jobs; results are written by
:class:`bot.cli_sink.CliSink`. Ctrl-C cancels the job and refunds its quota (when it is
already being delivered, the CLI says so), so the next run never resumes it by surprise.
Errors are worded for the operator (:func:`commands.replies.error_text` with an
:class:`~commands.replies.OperatorView`): the cause, the flag or the file at fault.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli_common import (
    EXIT_BACKEND,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_QUOTA,
    EXIT_USAGE,
    fail,
    login_name,
    scrub,
)

if TYPE_CHECKING:
    from bot.cli_progress import ProgressDisplay
    from bot.settings import Settings
    from commands.replies import OperatorView
    from commands.spec import CommandSpec
    from services.jobs import JobService

__all__ = ["add_generation_commands", "option_flag", "run_generation"]

_TICK_S = 1.0  # redraw of the elapsed time on a terminal


def option_flag(option: Any) -> str:
    """The CLI spelling of an option: its text flag (``--ar``) or, for images, its name (``--image``)."""
    return "--" + (option.flag or option.name.replace("_", "-"))


def add_generation_commands(sub: Any) -> None:
    """One subparser per command, its options generated from the command's declaration."""
    from commands import COMMANDS

    for name, spec in COMMANDS.items():
        p = sub.add_parser(name, help=spec.description, description=spec.description)
        p.add_argument(
            "prompt",
            nargs="?",
            default="",
            help='prompt text in quotes; text flags like --ar 16:9 may go inside them ("a fox --ar 16:9")',
        )
        for option in spec.options:
            if option.name == "prompt":
                continue
            flag = option_flag(option)
            if option.kind == "image":
                p.add_argument(flag, dest=f"opt_{option.name}", metavar="PATH", type=Path, help=option.help)
            elif option.flag is not None:
                metavar = option.metavar or option.kind.upper()
                p.add_argument(flag, dest=f"opt_{option.name}", metavar=metavar, help=option.help)
        p.add_argument(
            "--out",
            type=Path,
            default=Path("out"),
            help="folder for the watermarked images (default: out/); clean originals stay in EASEL_DATA_DIR",
        )
        p.add_argument("--json", action="store_true", help="print one JSON object per image")
        p.add_argument("--user", default=None, help="quota account to charge (default: your login name)")
        p.set_defaults(handler=run_generation, takes_prompt=spec.takes_prompt)


def run_generation(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_generate(settings, args))


def _read_image(flag: str, path: Path, max_bytes: int) -> bytes:
    """Regular files only, read with a bound (a FIFO or a folder is refused, never waited on)."""
    from bot.cli_paths import read_image_file

    return read_image_file(flag.lstrip("-"), path, max_bytes)


def _view(spec: CommandSpec, settings: Settings, files: dict[str, Path], account: str) -> OperatorView:
    from commands.replies import OperatorView

    return OperatorView(
        command=spec.name,
        flags={o.name: option_flag(o) for o in spec.options},
        files=files,
        backend=f"EASEL_BACKEND={settings.backend}",
        account=account,
    )


async def _tick(display: ProgressDisplay) -> None:
    while True:
        await asyncio.sleep(_TICK_S)
        display.tick()


async def _cancel(jobs: JobService, job_id: str, display: ProgressDisplay) -> None:
    """Ctrl-C: cancel and refund, or say that the job is past the point of cancelling."""
    try:
        cancelled = await jobs.cancel(job_id)
    except Exception:  # the job vanished meanwhile: nothing left to cancel
        cancelled = False
    if cancelled:
        display.note(f"interrupted: job {job_id[:8]} cancelled, its quota refunded; nothing was charged.")
    else:
        display.note(
            f"interrupted: job {job_id[:8]} was already finishing; the next easel start delivers it to "
            "its --out folder (charged once)."
        )


async def _generate(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import open_services
    from bot.cli_progress import ProgressDisplay
    from bot.cli_sink import CliSink
    from commands import COMMANDS
    from commands.invocation import Invocation
    from commands.replies import PLAIN, error_text
    from services.errors import EaselError, InvalidRequest, QuotaExceeded
    from services.types import Requester

    spec = COMMANDS[args.command]
    problems = settings.backend_problems()
    if problems:
        return fail("no image backend configured: set " + "; ".join(problems), EXIT_USAGE)

    options: dict[str, Any] = {}
    image_paths: dict[str, Path] = {}
    for key, value in vars(args).items():
        if key.startswith("opt_") and value is not None:
            name = key[4:]
            if isinstance(value, Path):
                image_paths[name] = value
            else:
                options[name] = value

    from bot.cli_paths import check_out_dir

    try:
        check_out_dir(args.out)  # before anything is sent: a wrong --out must spend nothing
    except InvalidRequest as exc:
        return fail(exc.user_message, EXIT_USAGE)
    account = args.user or login_name()
    view = _view(spec, settings, image_paths, account)
    requester = Requester("cli", account, account)
    origin = {"platform": "cli", "out_dir": str(args.out.resolve()), "json": bool(args.json)}
    display = ProgressDisplay(sys.stderr)
    job_id: str | None = None
    async with open_services(settings) as services:
        services.jobs.register_platform("cli", lambda record: CliSink(record.origin, display=display))
        report = await services.jobs.start()
        if report.resumed:
            display.note(
                f"resuming {len(report.resumed)} unfinished job(s) of an earlier run on this data dir "
                "(charged once, delivered to their own --out folders)."
            )
        ticker = asyncio.create_task(_tick(display))
        try:
            images = {
                name: _read_image(view.flags.get(name, name), path, services.limits.max_input_bytes)
                for name, path in image_paths.items()
            }
            request = await spec.build(
                Invocation(text=args.prompt, options=options, images=images), services.limits
            )
            submitted = await services.jobs.submit(requester, request, origin=origin)
            job_id = submitted.job_id
            await services.jobs.wait(job_id)
        except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels this task
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # handled here: timeouts in the clean-up below must work as usual
            if job_id is not None:
                await _cancel(services.jobs, job_id, display)
            else:
                display.note("interrupted before the job was queued; nothing was charged.")
            return EXIT_INTERRUPTED
        except InvalidRequest as exc:
            return fail(scrub(error_text(exc, PLAIN, operator=view), settings), EXIT_USAGE)
        except QuotaExceeded as exc:
            return fail(scrub(error_text(exc, PLAIN, operator=view), settings), EXIT_QUOTA)
        except EaselError as exc:
            return fail(scrub(error_text(exc, PLAIN, operator=view), settings), EXIT_BACKEND)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            display.clear()
    return EXIT_OK
