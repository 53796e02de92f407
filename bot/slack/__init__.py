"""easel's Slack front end (slash commands, modals, buttons, message shortcut).

See :class:`bot.slack.frontend.SlackFrontend` and the Slack section of README.md.
"""

from bot.slack.frontend import SlackFrontend

__all__ = ["SlackFrontend"]
