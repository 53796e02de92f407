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
# (interaction tokens), slack_sdk logs request headers and bodies (and, in Socket Mode, every
# envelope with its response_url through the Bolt app's logger), aiosqlite logs every SQL
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
    "botocore",  # request headers (the S3 access key id, signatures) and credential lookups at DEBUG
    "aiobotocore",
    "easel",  # slack_bolt names per-request loggers after the app (``AsyncApp(name="easel")``)
)

# Chatty at DEBUG without saying anything an operator needs (Pillow dumps every PNG chunk).
_NOISY_LOGGERS = ("PIL",)


def _leaky(name: str) -> bool:
    return any(name == p or name.startswith((p + ".", p + ":")) for p in TOKEN_LEAKING_LOGGERS)


class LibraryDebugFilter(logging.Filter):
    """Drop DEBUG records of the loggers above at the handler.

    Logger levels alone are not enough: slack_bolt copies the root level onto the loggers it
    creates (``slack_bolt.AsyncApp`` and the app-named ones), so a DEBUG root turns them on
    whatever their parent says.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not _leaky(record.name)


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
    handler.addFilter(LibraryDebugFilter())
    handler._easel = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # Pillow reports corrupt EXIF and similar through warnings; route them into the same log.
    logging.captureWarnings(True)
    # discord.py and aiohttp access logs are chatty at INFO.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("discord.gateway").setLevel(logging.WARNING)
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    guard_library_logs()
