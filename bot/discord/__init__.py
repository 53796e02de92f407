"""easel on Discord: slash commands, live progress, results with buttons to keep iterating.

::

    from bot.discord import DiscordFrontend
    frontend = DiscordFrontend(services)   # before services.jobs.start()
    await frontend.start()
"""

from bot.discord.frontend import DiscordFrontend

__all__ = ["DiscordFrontend"]
