"""What a slash command is: its name, options and how it builds a request.

Each ``commands/<name>.py`` declares ``SPEC = CommandSpec(...)``; ``commands/__init__.py``
lists them in ``COMMANDS``. Commands that only answer with text (``/quota``, ``/help``) are
:class:`InfoCommand` values in :mod:`commands.info`. Front ends generate their commands from these.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from commands.errors import OptionUnsupported
from commands.invocation import Invocation
from commands.options import HELP_MAX_CHARS, NAME_RE, OptionSpec, normalize_flag
from services.backends.base import BackendLimits
from services.types import GenerationRequest, Operation

__all__ = ["BuildFn", "CommandSpec", "InfoCommand"]

BuildFn = Callable[[Invocation, BackendLimits], Awaitable[GenerationRequest]]


def _check_command(name: str, description: str) -> None:
    if not NAME_RE.match(name):
        raise ValueError(f"command name {name!r} is not a valid slash command name")
    if not description or len(description) > HELP_MAX_CHARS:
        raise ValueError(f"description of /{name} must be 1..{HELP_MAX_CHARS} chars")


@dataclass(frozen=True, slots=True)
class InfoCommand:
    """A command that answers its caller privately and runs no job (``/quota``, ``/help``).

    * ``description`` — shown in the platform's command list (Discord's picker, Slack's manifest).
    * ``summary`` — its line in the help overview (:func:`commands.help.command_overview`).
    """

    name: str
    description: str
    summary: str

    def __post_init__(self) -> None:
        _check_command(self.name, self.description)


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One slash command.

    * ``options`` — in the order front ends should show them (required ones first).
    * ``build`` — ``await spec.build(inv, limits) -> GenerationRequest``; raises ``InvalidRequest``.
    * ``needs_images`` — image options the user must (or may) upload, e.g. ``("image", "mask")``;
      each is also an ``OptionSpec`` of kind ``"image"`` in ``options`` (see its ``required``).
    * ``operation`` — the backend operation; the command is hidden/refused when the backend
      lacks it (:meth:`available_on`).
    """

    name: str
    description: str
    options: tuple[OptionSpec, ...]
    build: BuildFn
    operation: Operation
    needs_images: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_command(self.name, self.description)
        names = [o.name for o in self.options]
        if len(set(names)) != len(names):
            raise ValueError(f"/{self.name} declares an option twice")
        for image in self.needs_images:
            opt = self.option(image)
            if opt is None or opt.kind != "image":
                raise ValueError(f"/{self.name} needs image {image!r} but has no image option of that name")

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)

    def option_for_flag(self, flag: str) -> OptionSpec | None:
        """This command's option for a text flag in any spelling (``--count`` → samples)."""
        name = normalize_flag(flag)
        return next((o for o in self.options if name in (o.flag, *o.aliases)), None)

    def takes(self, option: OptionSpec) -> bool:
        return any(o.name == option.name for o in self.options)

    @property
    def typed_options(self) -> tuple[OptionSpec, ...]:
        """Options offered as typed parameters (Discord app-command options, form fields)."""
        return tuple(o for o in self.options if o.typed)

    @property
    def flag_options(self) -> tuple[OptionSpec, ...]:
        """Options that can be given as text flags inside the prompt."""
        return tuple(o for o in self.options if o.flag is not None)

    @property
    def takes_prompt(self) -> bool:
        return self.option("prompt") is not None

    @property
    def prompt_required(self) -> bool:
        opt = self.option("prompt")
        return opt is not None and opt.required

    def available_on(self, limits: BackendLimits) -> bool:
        return self.operation in limits.operations

    def check_available(self, limits: BackendLimits) -> None:
        """Raise ``UnsupportedOption("/inpaint isn't available on this backend.")`` when it isn't."""
        if not self.available_on(limits):
            raise OptionUnsupported(f"/{self.name} isn't available on this backend.")
