"""A worker's Discord client: logged in over REST to post results, never connected to the gateway.

``easel run --role worker`` delivers the results of jobs a gateway took. Posting needs only the
HTTP client: interaction follow-ups go to webhooks (the interaction token), channel messages to
``/channels/{id}/messages``. :meth:`discord.Client.login` authenticates that client
(``GET /users/@me``, then the application info) and runs :meth:`setup_hook`; here the hook does
nothing, because the commands belong to the gateway processes that receive interactions.
"""

from __future__ import annotations

from bot.discord.client import EaselBot
from bot.discord.shards import ShardState

__all__ = ["RestOnlyBot"]


class RestOnlyBot(EaselBot):
    """:class:`EaselBot` for ``login()`` only: no command sync, no items, no shards."""

    async def setup_hook(self) -> None:
        """Nothing to sync: a worker receives no interactions (a gateway syncs the commands)."""

    async def launch_shards(self) -> None:
        raise RuntimeError("a REST-only Discord client does not connect to the gateway")

    def shard_states(self) -> tuple[ShardState, ...]:
        """None, whatever ``DISCORD_SHARDS`` says: a worker connects no shard (``/healthz`` counts none)."""
        return ()
