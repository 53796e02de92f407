"""A fake Slack (Web API, file hosting, response URLs, Socket Mode) on 127.0.0.1; see ``server``.

* ``server``: the aiohttp app and its Web API methods, uploads, downloads, response URLs, Socket Mode;
* ``records``: the calls, files and messages it holds (what tests read);
* ``rules``: the workspace's ids and tokens, required arguments, Block Kit limits;
* ``user_side``: Slack's signed requests towards the app (slash commands, clicks, form submissions);
* ``harness``: pytest fixtures and ``slack_easel_for`` (easel's real Slack front end against the fake).
"""

from tests.fakes.slack.harness import SlackEasel, slack_easel, slack_easel_for, slack_server, slack_settings
from tests.fakes.slack.records import SlackCall, StoredFile, StoredMessage
from tests.fakes.slack.rules import APP_TOKEN, BOT_TOKEN, BOT_USER_ID, SIGNING_SECRET, TEAM_ID
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.user_side import SentRequest, SlackUserSide

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "SIGNING_SECRET",
    "TEAM_ID",
    "FakeSlack",
    "SentRequest",
    "SlackCall",
    "SlackEasel",
    "SlackUserSide",
    "StoredFile",
    "StoredMessage",
    "slack_easel",
    "slack_easel_for",
    "slack_server",
    "slack_settings",
]
