"""Slack's side towards the app: signed slash commands, block actions, view submissions, shortcuts.

Requests are signed with ``slack_sdk.signature.SignatureVerifier.generate_signature``; a test can forge
or age the signature to check the app refuses it.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.signature import SignatureVerifier

from tests.fakes.slack.records import StoredMessage
from tests.fakes.slack.rules import APP_ID, SIGNING_SECRET, TEAM_DOMAIN, _message_api

if TYPE_CHECKING:
    from tests.fakes.slack.server import FakeSlack

# -------------------------------------------------------------------- Slack's side towards the app


@dataclass(frozen=True)
class SentRequest:
    """What the app answered to one signed request, and how fast."""

    status: int
    text: str
    elapsed_s: float
    trigger_id: str
    response_url: str

    @property
    def json(self) -> Any:
        return json.loads(self.text) if self.text.strip().startswith("{") else None


class SlackUserSide:
    """Sends what Slack sends to an app's request URL: signed, form-encoded, with a fresh trigger id."""

    def __init__(self, fake: FakeSlack, endpoint_url: str, signing_secret: str = SIGNING_SECRET) -> None:
        self.fake = fake
        self.endpoint_url = endpoint_url
        self.verifier = SignatureVerifier(signing_secret)
        self.session: aiohttp.ClientSession | None = None  # set to reuse connections (benchmarks)

    async def send(
        self,
        body: str,
        *,
        retry_num: int | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
        timeout_s: float = 10.0,
    ) -> tuple[int, str, float]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sig = signature or self.verifier.generate_signature(timestamp=ts, body=body)
        assert sig is not None
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        started = time.monotonic()
        if self.session is not None:
            async with self.session.post(
                self.endpoint_url, data=body.encode(), headers=headers, timeout=timeout
            ) as resp:
                text = await resp.text()
                return resp.status, text, time.monotonic() - started
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.post(self.endpoint_url, data=body.encode(), headers=headers) as resp:
                text = await resp.text()
                return resp.status, text, time.monotonic() - started

    def _trigger_id(self) -> str:
        return f"{next(self.fake._ids)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"

    async def _send_payload(
        self, payload: dict[str, Any], trigger_id: str, response_url: str, **kw: Any
    ) -> SentRequest:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        status, text, elapsed = await self.send(body, **kw)
        return SentRequest(status, text, elapsed, trigger_id, response_url)

    async def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        channel_id: str = "C0CHANNEL1",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        form = self.fake.slash_command_payload(
            command, text, user_id=user_id, user_name=user_name, channel_id=channel_id, trigger_id=trigger_id
        )
        if response_url is not None:
            form["response_url"] = response_url
        trigger_id, response_url = form["trigger_id"], form["response_url"]
        status, body, elapsed = await self.send(urllib.parse.urlencode(form), **kw)
        return SentRequest(status, body, elapsed, trigger_id, response_url)

    def _common(self, user_id: str, user_name: str) -> dict[str, Any]:
        return {
            "team": {"id": self.fake.team_id, "domain": TEAM_DOMAIN},
            "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": self.fake.team_id},
            "api_app_id": APP_ID,
            "token": "legacy-verification-token",
            "is_enterprise_install": False,
            "enterprise": None,
        }

    def _message_with_files(self, message: StoredMessage) -> dict[str, Any]:
        api = _message_api(message)
        if message.files:
            api["files"] = [self.fake.files[f].to_api() for f in message.files if f in self.fake.files]
            api["upload"] = True
        return api

    async def block_action(
        self,
        action_id: str,
        *,
        message: StoredMessage,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        response_url: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Click the element ``action_id`` of ``message`` (a message the app posted)."""
        element, block_id = _find_element(message.blocks, action_id)
        trigger_id = trigger_id or self._trigger_id()
        response_url = response_url or self.fake.new_response_url()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        payload = {
            "type": "block_actions",
            **self._common(user_id, user_name),
            "container": {
                "type": "message",
                "message_ts": message.ts,
                "channel_id": message.channel,
                "is_ephemeral": False,
            },
            "trigger_id": trigger_id,
            "channel": {"id": message.channel, "name": "general"},
            "message": self._message_with_files(message),
            "state": {"values": {}},
            "response_url": response_url,
            "actions": [action],
        }
        return await self._send_payload(payload, trigger_id, response_url, **kw)

    async def view_action(
        self,
        view: Mapping[str, Any],
        action_id: str,
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Click the element ``action_id`` inside an open modal ``view`` (as stored by the fake)."""
        element, block_id = _find_element(view.get("blocks", []), action_id)
        trigger_id = trigger_id or self._trigger_id()
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id,
            "type": element["type"],
            "action_ts": f"{time.time():.6f}",
        }
        if element["type"] == "button":
            action["text"] = element["text"]
            if "value" in element:
                action["value"] = element["value"]
        payload = {
            "type": "block_actions",
            **self._common(user_id, user_name),
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": trigger_id,
            "view": view,
            "actions": [action],
        }
        return await self._send_payload(payload, trigger_id, "", **kw)

    async def message_shortcut(
        self,
        callback_id: str,
        *,
        channel_id: str = "C0CHANNEL1",
        message_ts: str | None = None,
        thread_ts: str | None = None,
        text: str = "",
        files: list[dict[str, Any]] | None = None,
        author: str = "U0USER0002",
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        trigger_id = trigger_id or self._trigger_id()
        response_url = self.fake.new_response_url()
        ts = message_ts or self.fake._next_ts()
        message: dict[str, Any] = {"type": "message", "user": author, "text": text, "ts": ts}
        if thread_ts:  # a reply in a thread
            message["thread_ts"] = thread_ts
        if files:
            message["files"] = files
            message["upload"] = True
        payload = {
            "type": "message_action",
            **self._common(user_id, user_name),
            "callback_id": callback_id,
            "trigger_id": trigger_id,
            "response_url": response_url,
            "channel": {"id": channel_id, "name": "general"},
            "message_ts": ts,
            "message": message,
            "action_ts": f"{time.time():.6f}",
        }
        return await self._send_payload(payload, trigger_id, response_url, **kw)

    async def view_submission(
        self,
        view: Mapping[str, Any],
        values: Mapping[str, Any],
        *,
        user_id: str = "U0USER0001",
        user_name: str = "ada",
        trigger_id: str | None = None,
        **kw: Any,
    ) -> SentRequest:
        """Submit ``view`` (as returned by views.open) with inputs filled by action_id.

        ``values`` maps an input's action_id to: a string (text/number input, or the value of a select's
        option), a list of Slack file objects (file_input), or ``None`` (left empty).
        """
        state: dict[str, dict[str, Any]] = {}
        for block in view.get("blocks", []):
            if block.get("type") != "input":
                continue
            el = block["element"]
            aid = el["action_id"]
            filled = _fill(el, values.get(aid))
            state.setdefault(block["block_id"], {})[aid] = filled
        unknown = set(values) - {a for b in state.values() for a in b}
        assert not unknown, f"no input with action_id {unknown} in the view"
        trigger_id = trigger_id or self._trigger_id()
        submitted = {**view, "state": {"values": state}}
        payload = {
            "type": "view_submission",
            **self._common(user_id, user_name),
            "trigger_id": trigger_id,
            "view": submitted,
            "response_urls": [],
        }
        return await self._send_payload(payload, trigger_id, "", **kw)


def _find_element(blocks: list[Any], action_id: str) -> tuple[dict[str, Any], str]:
    for block in blocks:
        elements = list(block.get("elements", []))
        if "accessory" in block:
            elements.append(block["accessory"])
        for el in elements:
            if isinstance(el, dict) and el.get("action_id") == action_id:
                return el, block.get("block_id", "")
    raise AssertionError(f"no element with action_id {action_id!r} in the message")


def _fill(el: Mapping[str, Any], value: Any) -> dict[str, Any]:
    kind = el["type"]
    if kind == "file_input":
        return {"type": kind, "files": list(value or [])}
    if kind in ("static_select", "radio_buttons"):
        if value is None:
            return {"type": kind, "selected_option": el.get("initial_option")}
        options = el.get("options") or [o for g in el.get("option_groups", []) for o in g["options"]]
        chosen = [o for o in options if o["value"] == value]
        assert chosen, f"{value!r} is not an option of {el['action_id']}"
        return {"type": kind, "selected_option": chosen[0]}
    if kind == "checkboxes":
        options = el.get("options", [])
        picked = [o for o in options if value and o["value"] in value]
        return {"type": kind, "selected_options": picked}
    # plain_text_input, number_input, …
    if value is None:
        value = el.get("initial_value")
    return {"type": kind, "value": None if value is None else str(value)}
