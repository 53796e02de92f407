"""The one exception tree of easel's core.

Every error a user can cause or a backend can raise is an :class:`EaselError`.
Each carries two texts that must never be mixed up:

* ``user_message`` — polite, safe to show verbatim in a chat channel or on stderr;
  never contains tokens, keys, hostnames of the operator's GPU box or stack traces.
* ``log_detail`` — what the operator needs in the logs (status codes, API error ids).

::

    EaselError
    ├── InvalidRequest          the user's input is wrong (bad flag, bad image, …) — nothing spent
    │   └── UnsupportedOption   the chosen backend/model cannot do what was asked
    ├── QuotaExceeded           no images left; ``resets_at`` says when one comes back
    ├── JobNotFound             a button refers to a job/image that is gone
    ├── NotAllowed              the person may not do this to that job (e.g. delete someone else's)
    ├── BackendError            the backend could not produce images
    │   ├── BackendRejected     the backend refused the request (HTTP 400/422) — its message is shown
    │   ├── BackendMisconfigured  401/403: an operator problem (bad key, no credits)
    │   ├── BackendUnavailable  429/5xx/timeouts after bounded retries (retryable later)
    │   └── ContentFiltered     the backend's safety filter withheld every image
    ├── StorageError            easel could not store something (an operator condition, not the service's)
    │   ├── StorageFull         the data dir's disk (or SQLite) is full: jobs wait, nothing spent
    │   ├── StorageBusy         another program held the database's write lock past the bounded wait
    │   └── StorageUnavailable  the image store (an S3 bucket) is missing, refuses us or cannot be reached
    └── JobCancelled            the job was cancelled or interrupted by a shutdown

Front ends map each class to a reply in one place; services raise, never format.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "BackendError",
    "BackendMisconfigured",
    "BackendRejected",
    "BackendUnavailable",
    "BudgetExceeded",
    "ContentFiltered",
    "EaselError",
    "InvalidRequest",
    "JobCancelled",
    "JobNotFound",
    "NotAllowed",
    "QuotaExceeded",
    "StorageBusy",
    "StorageError",
    "StorageFull",
    "StorageUnavailable",
    "UnsupportedOption",
]


class EaselError(Exception):
    """Base class. ``str(err)`` is the user message; ``log_detail`` is for operators."""

    default_message = "Something went wrong. Please try again in a moment."

    def __init__(self, user_message: str | None = None, *, log_detail: str = "") -> None:
        self.user_message = user_message or self.default_message
        self.log_detail = log_detail
        super().__init__(self.user_message)


class InvalidRequest(EaselError):
    """The user's input cannot be used; the message says what to change."""

    default_message = "That request is not valid."


class UnsupportedOption(InvalidRequest):
    """A flag or command the configured backend/model does not support."""


class QuotaExceeded(EaselError):
    """The user has no images left in their rolling 24 h window."""

    def __init__(self, *, limit: int, used: int, requested: int, resets_at: datetime) -> None:
        self.limit = limit
        self.used = used
        self.requested = requested
        self.resets_at = resets_at
        left = max(limit - used, 0)
        msg = (
            "Image generation is turned off here."  # EASEL_DAILY_QUOTA=0: nothing ever comes back
            if limit == 0
            else f"You have {left} of your {limit} daily images left and this request needs {requested}. "
            f"More become available at {resets_at:%Y-%m-%d %H:%M} UTC."
        )
        super().__init__(msg, log_detail=f"quota limit={limit} used={used} requested={requested}")


class BudgetExceeded(EaselError):
    """A community limit other than the person's daily quota refused the request (issue 10).

    ``limit`` names which one (a :class:`services.budgets.LimitName` value), ``left`` is what
    remains of it and ``resets_at`` when it frees up (None: it never does on its own, e.g. a ban).
    ``commands.replies.error_text`` words the sentence; nothing is spent.
    """

    def __init__(
        self, *, limit: str, allowed: int, left: int, requested: int, resets_at: datetime | None
    ) -> None:
        self.limit = limit
        self.allowed = allowed
        self.left = left
        self.requested = requested
        self.resets_at = resets_at
        super().__init__(
            f"This request is over the {limit} limit.",
            log_detail=f"budget limit={limit} allowed={allowed} left={left} requested={requested}",
        )


class JobNotFound(EaselError):
    default_message = "I can't find that image any more; it may have been deleted."


class NotAllowed(EaselError):
    """The requester may not act on this job; front ends word the reply for their platform's roles."""

    default_message = "Only the person who asked for these images can do that."


class BackendError(EaselError):
    default_message = "The image service could not complete this request. Your quota was not spent."


class BackendRejected(BackendError):
    """The backend refused this request (HTTP 400/422); its own words are in the message."""


class BackendMisconfigured(BackendError):
    default_message = (
        "The image service is not set up correctly right now, so I couldn't make your image. "
        "The operator has been told. Your quota was not spent."
    )


class BackendUnavailable(BackendError):
    default_message = (
        "The image service is busy or unreachable right now. Please try again in a minute. "
        "Your quota was not spent."
    )


class ContentFiltered(BackendError):
    default_message = (
        "The image service's safety filter withheld the result, so there is nothing to show. "
        "Try rewording the prompt. Your quota was not spent."
    )


class JobCancelled(EaselError):
    default_message = "This job was cancelled. Your quota was not spent."


class StorageError(EaselError):
    """easel's own storage failed; the image service is not to blame and nothing was spent."""

    default_message = (
        "The server could not store this request, so nothing was started. "
        "The operator has been told. Your quota was not spent."
    )


class StorageFull(StorageError):
    """No space left where easel writes (ENOSPC, SQLite's "database or disk is full").

    ``path`` is where the write failed and ``needed_bytes`` what it tried to write (0 if unknown);
    both are for the operator's log line, never for the chat.
    """

    default_message = (
        "The server is out of storage space right now, so I couldn't finish this. "
        "The operator has been told. Your quota was not spent."
    )

    def __init__(
        self, user_message: str | None = None, *, path: str = "", needed_bytes: int = 0, log_detail: str = ""
    ) -> None:
        self.path = path
        self.needed_bytes = needed_bytes
        super().__init__(user_message, log_detail=log_detail or f"no space left on the device of {path}")


class StorageBusy(StorageError):
    """Another program held the database's write lock for longer than easel waits."""

    default_message = (
        "The server's storage is busy right now, so I couldn't accept this request. "
        "Please try again in a minute. Your quota was not spent."
    )


class StorageUnavailable(StorageError):
    """The shared image store failed: bucket missing, access denied, endpoint unreachable (``log_detail`` says which)."""

    default_message = (
        "The server's image storage is unavailable right now, so I couldn't finish this. "
        "The operator has been told. Your quota was not spent."
    )
