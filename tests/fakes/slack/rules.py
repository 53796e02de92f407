"""Slack's rules the fake enforces: the workspace's fixed ids and tokens, required arguments,
response-URL uses, and Block Kit's limits for messages and views.

Message blocks are also read back through ``slack_sdk.models.blocks`` (Slack's own Block Kit models):
a block the models cannot build, that fails their validation or carries fields they do not know is
refused with ``invalid_blocks``, as Slack refuses it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from tests.fakes.slack.records import StoredMessage

BOT_TOKEN = "xoxb-fake-0000-easel-test-token"
APP_TOKEN = "xapp-1-fake-0000-easel-app-token"
SIGNING_SECRET = "fake-signing-secret-for-tests"
TEAM_ID = "T0EASEL01"
TEAM_DOMAIN = "easel-test"
BOT_USER_ID = "U0EASELBOT"
BOT_ID = "B0EASELBOT"
APP_ID = "A0EASEL01"

RESPONSE_URL_MAX_USES = 5


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _require(p: Mapping[str, Any], name: str) -> Any:
    value = p.get(name)
    if value in (None, ""):
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": [f"[ERROR] missing required field: {name}"]}
        )
    return value


def _json_arg(value: Any) -> Any:
    """An argument that may come JSON-encoded (form bodies) or already decoded (JSON bodies)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _message_api(msg: StoredMessage) -> dict[str, Any]:
    api = {
        "type": "message",
        "user": msg.user,
        "bot_id": BOT_ID,
        "text": msg.text,
        "blocks": msg.blocks,
        "ts": msg.ts,
    }
    if msg.thread_ts:
        api["thread_ts"] = msg.thread_ts
    return api


def _sniff_mimetype(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


# Block Kit limits the fake enforces (the ones a front end is likely to hit).
_MAX_BLOCKS_MESSAGE = 50
_MAX_BLOCKS_VIEW = 100
_MAX_ACTION_ELEMENTS = 25
_MAX_ACTION_ID = 255
_MAX_BUTTON_VALUE = 2000
_MAX_BUTTON_TEXT = 75
_MAX_SECTION_TEXT = 3000
_MAX_TITLE = 24
_MAX_PRIVATE_METADATA = 3000
_MAX_CONTEXT_ELEMENTS = 10


def _invalid_blocks(why: str) -> _ApiError:
    return _ApiError("invalid_blocks", response_metadata={"messages": [f"[ERROR] {why}"]})


def _check_text(obj: Any, limit: int, where: str) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        raise _invalid_blocks(f"{where}: text object expected")
    text = obj.get("text")
    if not isinstance(text, str) or not text or len(text) > limit:
        raise _invalid_blocks(f"{where}: text must be 1..{limit} characters")


def _check_element(el: Any, where: str, action_ids: set[str]) -> None:
    if not isinstance(el, dict) or "type" not in el:
        raise _invalid_blocks(f"{where}: element without type")
    action_id = el.get("action_id")
    if action_id is not None:
        if not isinstance(action_id, str) or not action_id or len(action_id) > _MAX_ACTION_ID:
            raise _invalid_blocks(f"{where}: action_id must be 1..{_MAX_ACTION_ID} characters")
        if action_id in action_ids:
            raise _invalid_blocks(f"{where}: duplicate action_id {action_id}")
        action_ids.add(action_id)
    if el["type"] == "button":
        _check_text(el.get("text"), _MAX_BUTTON_TEXT, where)
        if el["text"]["type"] != "plain_text":
            raise _invalid_blocks(f"{where}: button text must be plain_text")
        if len(str(el.get("value", ""))) > _MAX_BUTTON_VALUE:
            raise _invalid_blocks(f"{where}: button value over {_MAX_BUTTON_VALUE} characters")
        if el.get("style") not in (None, "primary", "danger"):
            raise _invalid_blocks(f"{where}: bad button style")


def _check_blocks(blocks: Any, *, limit: int = _MAX_BLOCKS_MESSAGE, inputs_allowed: bool = False) -> None:
    if not isinstance(blocks, list):
        raise _invalid_blocks("blocks must be an array")
    if len(blocks) > limit:
        raise _invalid_blocks(f"no more than {limit} blocks")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        where = f"blocks[{i}]"
        if not isinstance(block, dict):
            raise _invalid_blocks(f"{where}: object expected")
        kind = block.get("type")
        bid = block.get("block_id")
        if bid is not None:
            if bid in block_ids:
                raise _invalid_blocks(f"{where}: duplicate block_id")
            block_ids.add(bid)
        if kind == "section":
            if "text" in block:
                _check_text(block["text"], _MAX_SECTION_TEXT, where)
            elif "fields" not in block:
                raise _invalid_blocks(f"{where}: section needs text or fields")
            if "accessory" in block:
                _check_element(block["accessory"], where, action_ids)
        elif kind == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= _MAX_ACTION_ELEMENTS:
                raise _invalid_blocks(f"{where}: actions need 1..{_MAX_ACTION_ELEMENTS} elements")
            for el in elements:
                _check_element(el, where, action_ids)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= _MAX_CONTEXT_ELEMENTS:
                raise _invalid_blocks(f"{where}: context needs 1..{_MAX_CONTEXT_ELEMENTS} elements")
        elif kind == "input":
            if not inputs_allowed:
                raise _invalid_blocks(f"{where}: input blocks are only allowed in views")
            _check_text(block.get("label"), 2000, where)
            _check_element(block.get("element"), where, action_ids)
        elif kind in ("divider", "header", "image", "rich_text"):
            if kind == "header":
                _check_text(block.get("text"), 150, where)
        else:
            raise _invalid_blocks(f"{where}: unknown block type {kind!r}")


def _check_view(view: Any) -> None:
    if not isinstance(view, dict) or view.get("type") != "modal":
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] view.type must be modal"]}
        )
    _check_text(view.get("title"), _MAX_TITLE, "view.title")
    for key in ("submit", "close"):
        if key in view:
            _check_text(view[key], _MAX_TITLE, f"view.{key}")
    if len(view.get("private_metadata", "")) > _MAX_PRIVATE_METADATA:
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] private_metadata too long"]}
        )
    blocks = view.get("blocks", [])
    _check_blocks(blocks, limit=_MAX_BLOCKS_VIEW, inputs_allowed=True)
    has_input = any(b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        raise _ApiError(
            "invalid_arguments", response_metadata={"messages": ["[ERROR] input blocks need a submit"]}
        )


_RICH_TEXT_ELEMENTS = {"rich_text_section", "rich_text_list", "rich_text_preformatted", "rich_text_quote"}


def _check_with_models(blocks: list[Any]) -> None:
    """Each block as ``slack_sdk``'s Block Kit models build, validate and write it, unchanged."""
    for i, raw in enumerate(blocks):
        where = f"[json-pointer:/blocks/{i}]"
        try:
            parsed = Block.parse(copy.deepcopy(raw))
            if parsed is None:
                raise _invalid_blocks(f"unsupported block type {raw.get('type')!r} {where}")
            written = parsed.to_dict()  # validates the block and every element in it
        except (SlackObjectFormationError, TypeError, AttributeError, ValueError) as e:
            raise _invalid_blocks(f"{e} {where}") from e
        if written != raw:
            raise _invalid_blocks(f"unsupported fields {where}")


def _check_message_blocks(blocks: Any) -> None:
    """A message's blocks (chat.postMessage / postEphemeral / update): the limits, then the models."""
    _check_blocks(blocks)
    _check_with_models(blocks)


def _check_rich_text_blocks(blocks: Any) -> None:
    """files.completeUploadExternal's ``blocks``: documented as structured rich text blocks only."""
    if not isinstance(blocks, list):
        raise _invalid_blocks("blocks must be an array")
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind != "rich_text":
            raise _invalid_blocks(
                f"only rich_text blocks are allowed here, not {kind!r} [json-pointer:/blocks/{i}]"
            )
        elements = block.get("elements")
        if not isinstance(elements, list) or not elements:
            raise _invalid_blocks(f"rich_text needs elements [json-pointer:/blocks/{i}]")
        for el in elements:
            if not isinstance(el, dict) or el.get("type") not in _RICH_TEXT_ELEMENTS:
                raise _invalid_blocks(f"unsupported rich text element [json-pointer:/blocks/{i}]")
    _check_with_models(blocks)
