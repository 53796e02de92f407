"""Policy refusals: the user's words stay polite and general, the matched rule goes to the log only."""

from __future__ import annotations

from services.errors import InvalidRequest

__all__ = ["AdultOnlyHere", "PromptBlocked"]


class PromptBlocked(InvalidRequest):
    """A prompt (or negative prompt) matched the operator's or this server's block list."""

    default_message = (
        "This prompt uses words that are not allowed here, so I did not start it. "
        "Please reword it. Nothing was spent."
    )


class AdultOnlyHere(InvalidRequest):
    """An adult-only request outside a channel where adult content may be asked for."""

    def __init__(self, where: str, *, log_detail: str = "") -> None:
        super().__init__(
            f"This request is for adult-only channels, so I did not start it here. {where} Nothing was spent.",
            log_detail=log_detail,
        )
