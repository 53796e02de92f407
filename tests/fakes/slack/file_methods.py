"""The fake Slack's files: ``files.getUploadURLExternal`` / ``completeUploadExternal`` / ``info`` / ``delete``,
and the ``slack_file`` references of ``image`` blocks.

The rules are Slack's documented ones (docs.slack.dev/reference/methods/files.completeUploadExternal):
``blocks`` there is "a JSON-based array of structured rich text blocks" and is ignored when an
``initial_comment`` is given; ``channel_id`` (or ``channels``) shares the files, without it they stay
private to the app; ``thread_ts`` needs exactly one channel. The share is asynchronous: with
``share_delay_s`` set, the files (``files.info`` ``shares``) and their message appear only that long
after the call has answered, as Slack's SDK maintainers describe it. Anything but ``rich_text`` in ``blocks``
is refused with ``invalid_blocks`` (other SDKs report Slack failing on such blocks there), so buttons
must travel in a ``chat.postMessage``. An ``image`` block's ``slack_file`` must name a finished
image the channel can see, as Slack answers ``invalid_blocks`` ("invalid slack file") otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.fakes.slack.records import StoredFile, StoredMessage
from tests.fakes.slack.rules import (
    _ApiError,
    _check_rich_text_blocks,
    _invalid_blocks,
    _json_arg,
    _require,
    _sniff_mimetype,
)

__all__ = ["FileMethods"]


class FileMethods:
    """Mixed into FakeSlack (which provides the state and id counters declared here)."""

    bot_user_id: str
    share_delay_s: float  # how long after completeUploadExternal the files appear in their channels
    files: dict[str, StoredFile]
    messages: dict[tuple[str, str], StoredMessage]

    base_url: str
    _next_ts: Callable[[], str]
    _new_file: Callable[..., StoredFile]

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = _require(p, "filename")
        length = int(_require(p, "length"))
        if length <= 0:
            raise _ApiError("invalid_arguments")
        f = self._new_file(name=filename, title=filename, mimetype="", data=b"", user=self.bot_user_id)
        f.title = ""
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{f.id}", "file_id": f.id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        items = _json_arg(_require(p, "files"))
        if not isinstance(items, list) or not items:
            raise _ApiError("invalid_arguments")
        channels = [c for c in str(p.get("channel_id") or p.get("channels") or "").split(",") if c]
        thread_ts = p.get("thread_ts") or None
        if thread_ts and len(channels) != 1:
            raise _ApiError(
                "invalid_arguments", response_metadata={"messages": ["[ERROR] thread_ts needs one channel"]}
            )
        comment = p.get("initial_comment") or None
        blocks: list[Any] = []
        if comment is None and p.get("blocks"):  # ignored when an initial_comment is given
            blocks = _json_arg(p["blocks"])
            _check_rich_text_blocks(blocks)
        stored: list[StoredFile] = []
        for item in items:
            f = self.files.get(item.get("id", "") if isinstance(item, dict) else "")
            if f is None or not f.data or f.completed:
                raise _ApiError("file_not_found")
            stored.append(f)
        for f, item in zip(stored, items, strict=True):
            f.title = item.get("title") or f.name
            f.mimetype = _sniff_mimetype(f.data)
            f.completed = True
            f.initial_comment = comment
            f.thread_ts = thread_ts

        def share() -> None:
            for f in stored:
                f.channels = list(channels)
            for ch in channels:
                ts = self._next_ts()
                ids = [f.id for f in stored if f.id in self.files]  # deleted meanwhile: not shown
                if not ids and not comment:
                    continue
                msg = StoredMessage(
                    ch, ts, self.bot_user_id, comment or "", blocks, files=ids, thread_ts=thread_ts
                )
                self.messages[(ch, ts)] = msg
                for f in stored:
                    f.shares[ch] = ts

        if self.share_delay_s:  # Slack finishes the upload first and shares a moment later
            asyncio.get_running_loop().call_later(self.share_delay_s, share)
        else:
            share()
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in stored]}

    def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(_require(p, "file"))
        if f is None or not f.completed:
            raise _ApiError("file_not_found")
        return {"ok": True, "file": f.to_api()}

    def _m_files_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        f = self.files.get(_require(p, "file"))
        if f is None or not f.completed:
            raise _ApiError("file_not_found")
        if f.user != self.bot_user_id:
            raise _ApiError("cant_delete_file")
        del self.files[f.id]
        for msg in self.messages.values():
            if f.id in msg.files:
                msg.files.remove(f.id)
                if not msg.files and not msg.text and not msg.blocks:
                    msg.deleted = True
        return {"ok": True}

    def _check_slack_files(self, blocks: list[Any], channel: str) -> None:
        """``image`` blocks' ``slack_file``: a finished image shared in ``channel`` (a file uploaded
        without a channel is private to the app, and Slack refuses it in a message)."""
        for i, block in enumerate(blocks):
            ref = (
                block.get("slack_file") if isinstance(block, dict) and block.get("type") == "image" else None
            )
            if ref is None:
                continue
            f = self.files.get(str(ref.get("id", ""))) if isinstance(ref, dict) else None
            if (
                f is None
                or not f.completed
                or not f.mimetype.startswith("image/")
                or channel not in f.channels
            ):
                raise _invalid_blocks(f"invalid slack file [json-pointer:/blocks/{i}/slack_file]")
