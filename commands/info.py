"""The commands that only answer with text: ``/quota`` and ``/help``, declared once.

Discord registers them from these values, the Slack manifest lists ``/quota`` from them, and the
help overview (:func:`commands.help.command_overview`) gives each its line::

    QUOTA.description   # "How many images you have left today" (command pickers, the manifest)
    QUOTA.summary       # "how many images you have left today" (its line in /help)
"""

from __future__ import annotations

from commands.spec import InfoCommand

__all__ = ["HELP", "HISTORY", "INFO_COMMANDS", "MODELS", "QUOTA", "SETTINGS", "STATUS", "VERIFY"]

QUOTA = InfoCommand(
    name="quota",
    description="How many images you have left today",
    summary="how many images you have left today",
)
MODELS = InfoCommand(
    name="models",
    description="Which models each command can use right now, with their limits and cost",
    summary="the models each command can use now, their limits and cost per image",
)
HISTORY = InfoCommand(
    name="history",
    description="Your last 20 jobs, with links to the results and a button to run one again",
    summary="your last 20 jobs; run one again with its button",
)
"""Answered by :mod:`commands.history` (the entries, *run again*)."""
SETTINGS = InfoCommand(
    name="settings",
    description="Your defaults: aspect ratio, style, number of images, model (used when a command doesn't say)",
    summary="show or set your defaults (aspect ratio, style, images, model)",
)
"""Answered by :mod:`commands.settings` (validation, storage, how defaults apply)."""
HELP = InfoCommand(
    name="help",
    description="Prompt tips and the flags you can use",
    summary="this message",
)
VERIFY = InfoCommand(
    name="verify",
    description="Check whether a picture carries this bot's invisible mark",
    summary="check whether a picture was made here (attach it)",
)
"""Declared here with the other text-only commands so that registering it (``easel --help``,
Discord, the manifest) does not load the watermark detector; :mod:`commands.verify` words its answer."""

STATUS = InfoCommand(
    name="status",
    description="Is easel up here: the queue, and which gateway shard serves this server",
    summary="the queue now, and which gateway shard serves this server",
)
"""Discord only (shards are Discord's); :mod:`commands.status` words its answer."""

INFO_COMMANDS: tuple[InfoCommand, ...] = (QUOTA, MODELS, HISTORY, SETTINGS, HELP)
"""In the order the help overview lists them, after the image commands."""
