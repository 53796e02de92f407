"""One driver per chat platform, so a hostile-input case is written once and run on Discord and Slack.

A driver does what a user does on its platform (run a command with text and files, press a button)
and reads what came back from the fake (the private reply, public posts, the quota easel kept)::

    sent = await chat.run("upscale", files={"image": Upload(png_header_only(), "bomb.png")})
    await assert_refused_privately_for_free(chat, sent, "20000×20000", "megapixels")
    await chat.assert_others_served()

``DiscordChat`` drives the fake Discord through easel's real Discord front end, ``SlackChat`` the
fake Slack through easel's real Slack front end; neither touches easel's own objects beyond its
services' public queries (quota, job stats).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from services.types import Requester
from tests.fakes.discord import (
    DEFERRED_CHANNEL_MESSAGE,
    MESSAGE_COMPONENT,
    EaselOnDiscord,
    FakeInteraction,
    FakeMessage,
)
from tests.fakes.slack import SentRequest, SlackEasel, StoredMessage
from tests.helpers.discord_messages import ephemeral_reply, job_id_of, result_of
from tests.helpers.slack_messages import result_cards_posted, wait_for_results

SLACK_CHANNEL = "C0CHANNEL1"
SLACK_USER = "U0USER0001"
SLACK_WARNINGS = (":warning:", ":no_entry:")
DISCORD_WARNINGS = ("⚠️", "⛔")


@dataclass(frozen=True)
class Upload:
    """A file a user attaches; ``claimed_size`` is what the platform's metadata says, if not the truth."""

    data: bytes
    filename: str
    content_type: str = "image/png"
    claimed_size: int | None = None


class Chat(Protocol):
    """What a hostile-input case needs from a platform."""

    platform: str
    time_markup: tuple[str, ...]  # how a reset time is written so each reader sees their own zone

    @property
    def max_input_bytes(self) -> int: ...

    async def run(self, command: str, text: str = "", *, files: Mapping[str, Upload] | None = None) -> Any:
        """Run ``/command text`` (and fill in its files, through a form where the platform uses one)."""

    async def private_reply(self, sent: Any) -> str:
        """Wait for the private warning answering ``sent``; check nothing public came of it."""

    async def used(self) -> int:
        """Images the default user has spent in the current quota window."""

    async def assert_others_served(self) -> None:
        """Another user's /imagine right now still gets its picture in the channel."""

    async def result(
        self, text: str, *, command: str = "imagine", files: Mapping[str, Upload] | None = None
    ) -> tuple[Any, str]:
        """Run a command and wait for its public result: (the result message, its job id)."""

    async def delete(self, message: Any, job_id: str) -> None:
        """Press the result's delete button and wait until it is gone."""

    def stale_result(self, button_ids: list[str]) -> Any:
        """A result easel posted earlier whose job it does not know now (say, the data dir was lost)."""

    async def press(self, message: Any, button_id: str) -> Any:
        """Press ``button_id`` on ``message`` (even a deleted one: the user's client may still show it)."""

    def assert_untouched(self, message: Any) -> None:
        """Pressing a button of ``message`` opened no form and deleted nothing."""


# ``start_chat(backend=..., **settings)`` (the hostile suite's fixture): easel started on one platform.
StartChat = Callable[..., Awaitable[Chat]]


async def assert_refused_privately_for_free(chat: Chat, sent: Any, *expected: str, used: int = 0) -> str:
    """(a) a polite private reply saying ``expected``, nothing public; (b) the quota is unchanged."""
    reply = await chat.private_reply(sent)
    for words in expected:
        assert words in reply, (words, reply)
    assert "Traceback" not in reply and "went wrong" not in reply, reply
    assert await chat.used() == used
    return reply


async def assert_stale_button_says_gone(chat: Chat, button_id: str) -> None:
    """A button of a result whose job easel does not know: "gone", privately, nothing opened or deleted."""
    message = chat.stale_result([button_id])
    sent = await chat.press(message, button_id)
    await assert_refused_privately_for_free(chat, sent, "can't find that image")
    chat.assert_untouched(message)
    await chat.assert_others_served()


# ------------------------------------------------------------------------------------------ Discord


class DiscordChat:
    platform = "discord"
    time_markup: tuple[str, ...] = ("<t:",)

    def __init__(self, easel: EaselOnDiscord) -> None:
        self.easel = easel
        self.fake = easel.fake

    @property
    def max_input_bytes(self) -> int:
        return int(self.easel.services.backend.limits.max_input_bytes)

    async def run(
        self, command: str, text: str = "", *, files: Mapping[str, Upload] | None = None
    ) -> FakeInteraction:
        options: dict[str, Any] = {"prompt": text} if text else {}
        for name, upload in (files or {}).items():
            attachment = self.fake.add_attachment(upload.data, upload.filename, upload.content_type)
            if upload.claimed_size is not None:
                attachment["size"] = upload.claimed_size
            options[name] = attachment
        return await self.fake.slash(command, **options)

    async def private_reply(self, sent: FakeInteraction) -> str:
        fake = self.fake
        reply = await ephemeral_reply(fake, sent)
        assert reply.content.startswith(DISCORD_WARNINGS), reply.content
        if sent.ack_type == DEFERRED_CHANNEL_MESSAGE:  # the public "thinking…" placeholder goes away
            await fake.wait_until(lambda: fake.messages[sent.original_message_id or 0].deleted)
        public = [m for m in fake.channel_messages() if m.interaction_id == sent.id]
        assert public == [], [m.content for m in public]
        return reply.content

    async def used(self) -> int:
        status = await self.easel.services.jobs.quota_status(Requester("discord", str(self.fake.user.id)))
        return int(status.used)

    async def assert_others_served(self) -> None:
        fake = self.fake
        other = fake.add_user(f"passer-by-{fake.snowflake()}")
        interaction = await fake.slash("imagine", prompt="a calm lake", user=other)
        message = await result_of(fake, interaction, timeout_s=15)
        assert len(message.files) == 1
        assert fake.violations == []

    async def result(
        self, text: str, *, command: str = "imagine", files: Mapping[str, Upload] | None = None
    ) -> tuple[FakeMessage, str]:
        message = await result_of(self.fake, await self.run(command, text, files=files))
        return message, job_id_of(message)

    async def delete(self, message: FakeMessage, job_id: str) -> None:
        await self.fake.click(message, f"easel:d:{job_id}")
        await self.fake.wait_until(lambda: message.deleted)

    def stale_result(self, button_ids: list[str]) -> FakeMessage:
        fake = self.fake
        buttons = [
            {"type": 2, "style": 2, "label": str(n), "custom_id": cid} for n, cid in enumerate(button_ids)
        ]
        message = FakeMessage(
            id=fake.snowflake(),
            channel_id=fake.channel_id,
            guild_id=fake.guild.id,
            author=fake.bot,
            content="",
            webhook_id=fake.application_id,
            components=[{"type": 1, "components": buttons}],
        )
        fake.messages[message.id] = message
        return message

    async def press(self, message: FakeMessage, button_id: str) -> FakeInteraction:
        if not message.deleted:
            return await self.fake.click(message, button_id)
        click = self.fake.interaction_payload(
            MESSAGE_COMPONENT, {"custom_id": button_id, "component_type": 2}, message=message
        )
        await self.fake.send_interaction(click)
        return click

    def assert_untouched(self, message: FakeMessage) -> None:
        assert not message.deleted


# ------------------------------------------------------------------------------------------ Slack


class SlackChat:
    platform = "slack"
    time_markup: tuple[str, ...] = ("<!date^", "UTC>")

    def __init__(self, easel: SlackEasel) -> None:
        self.easel = easel
        self.slack = easel.slack

    @property
    def max_input_bytes(self) -> int:
        return int(self.easel.services.backend.limits.max_input_bytes)

    async def run(
        self, command: str, text: str = "", *, files: Mapping[str, Upload] | None = None
    ) -> SentRequest:
        slack = self.slack
        opened_before = len(slack.calls_to("views.open"))
        sent = await self.easel.user.slash_command(f"/{command}", text)
        assert sent.status == 200 and sent.elapsed_s < 3, sent
        if not files:
            assert sent.text == ""  # acked before any work; the answer follows on the response URL
            return sent
        opened = (await slack.wait_for("views.open", opened_before + 1))[-1]
        values = {name: [self._user_file(upload)] for name, upload in files.items()}
        submitted = await self.easel.user.view_submission(opened.response["view"], values)
        assert submitted.status == 200 and submitted.text == ""  # the form closes; the answer follows
        return sent

    def _user_file(self, upload: Upload) -> dict[str, Any]:
        file = self.slack.add_user_file(upload.data, name=upload.filename, mimetype=upload.content_type)
        if upload.claimed_size is not None:
            file["size"] = upload.claimed_size
        return file

    async def private_reply(self, sent: SentRequest) -> str:
        slack = self.slack
        rid = sent.response_url.rsplit("/", 1)[1]
        posted = len(slack.calls_to("files.completeUploadExternal"))
        messages = len(slack.calls_to("chat.postMessage"))
        [call] = await slack.wait_for(
            "response_url",
            where=lambda c: (
                c.params.get("_rid") == rid and str(c.params.get("text", "")).startswith(SLACK_WARNINGS)
            ),
        )
        assert call.params["response_type"] == "ephemeral"
        assert len(slack.calls_to("files.completeUploadExternal")) == posted  # nothing public
        assert len(slack.calls_to("chat.postMessage")) == messages
        return str(call.params["text"])

    async def used(self, user: str = SLACK_USER) -> int:
        return int((await self.easel.services.jobs.quota_status(Requester("slack", user))).used)

    async def assert_others_served(self) -> None:
        slack = self.slack
        other = f"U0OTHER{len(slack.calls):04d}"
        before = result_cards_posted(slack)
        await self.easel.user.slash_command("/imagine", "a calm lake", user_id=other)
        posted = (await wait_for_results(slack, before + 1, timeout_s=15))[-1]
        assert posted.summary.startswith(f"<@{other}>")
        assert await self.used(other) == 1

    async def result(
        self, text: str, *, command: str = "imagine", files: Mapping[str, Upload] | None = None
    ) -> tuple[StoredMessage, str]:
        slack = self.slack
        before = result_cards_posted(slack)
        await self.run(command, text, files=files)
        posted = (await wait_for_results(slack, before + 1))[-1]
        return posted.card, posted.job_id

    async def delete(self, message: StoredMessage, job_id: str) -> None:
        await self.easel.user.block_action(f"easel:d:{job_id}", message=message)
        await self.slack.wait_for("chat.delete")

    def stale_result(self, button_ids: list[str]) -> StoredMessage:
        slack = self.slack
        ts = slack._next_ts()
        buttons = [
            {"type": "button", "text": {"type": "plain_text", "text": str(n)}, "action_id": aid}
            for n, aid in enumerate(button_ids)
        ]
        message = StoredMessage(
            channel=SLACK_CHANNEL,
            ts=ts,
            user=slack.bot_user_id,
            text="an old result",
            blocks=[{"type": "actions", "block_id": "old", "elements": buttons}],
        )
        slack.messages[(SLACK_CHANNEL, ts)] = message
        return message

    async def press(self, message: StoredMessage, button_id: str) -> SentRequest:
        sent = await self.easel.user.block_action(button_id, message=message)
        assert sent.status == 200 and sent.elapsed_s < 3, sent
        return sent

    def assert_untouched(self, message: StoredMessage) -> None:
        assert self.slack.calls_to("views.open") == []
        assert self.slack.calls_to("chat.delete") == []
