"""Structured logging: one event per line, ``event key=value ...``.

Services log ``log.info("job.done", extra={"job_id": ..., "duration_ms": ...})``;
this formatter appends every non-standard attribute as ``key=value``. Values that
look like secrets never reach here because nothing logs them; as a second line of
defence, any configured secret value is replaced by ``***`` before output.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [f"{key}={_quote(value)}" for key, value in vars(record).items() if key not in _STANDARD]
        line = base + (" " + " ".join(extras) if extras else "")
        for secret in self._secrets:
            line = line.replace(secret, "***")
        return line


def _quote(value: object) -> str:
    text = str(value)
    return repr(text) if (" " in text or not text) else text


# Libraries that log secrets at DEBUG: discord.py logs raw gateway payloads and webhook URLs
# (interaction tokens), slack_sdk logs request headers and bodies, aiosqlite logs every SQL
# statement with its parameters (a job's origin holds its interaction token or response_url).
# easel never logs a secret, whatever level the operator chooses.
TOKEN_LEAKING_LOGGERS = (
    "discord.gateway",
    "discord.webhook.async_",
    "discord.http",
    "discord.client",
    "slack_sdk",
    "slack_bolt",
    "aiosqlite",
)


def guard_library_logs() -> None:
    """Hold the secret-leaking library loggers at INFO or above (idempotent)."""
    for name in TOKEN_LEAKING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET (inherit) included: a DEBUG root must not reach them
            logger.setLevel(logging.INFO)


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Install the key=value formatter on the root logger (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_easel", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter(secrets))
    handler._easel = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Pillow reports corrupt EXIF and similar through warnings; route them into the same log.
    logging.captureWarnings(True)
    # discord.py and aiohttp access logs are chatty at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("discord.gateway").setLevel(logging.WARNING)
    guard_library_logs()
