"""The result-action grammar: what a button under a result (or a form it opens) asks for.

All state is in the id, so a button posted before a restart still works afterwards (the job
itself is looked up in SQLite); both platforms' ids fit (Discord ``custom_id`` ≤ 100 characters,
Slack ``action_id`` ≤ 255)::

    encode(Verb.UPSCALE, "6f1c…", 2)   # "easel:u:6f1c…:2"
    decode("easel:u:6f1c…:2")          # Action(verb=Verb.UPSCALE, job_id="6f1c…", index=2)
    decode("easel:d:6f1c…:80351110224678912")  # an older Discord delete button: index is ignored
    decode("easel:x:6f1c…")            # None: not ours, or forged

Nothing in an id is trusted beyond naming the job and an image: who may delete is decided from
the stored requester (:meth:`services.jobs.JobService.delete`), never from the id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["ACTION_RE", "PREFIX", "Action", "Verb", "decode", "encode", "is_stale"]

PREFIX = "easel:"


class Verb(StrEnum):
    """What an action does; the value is its (stable, on-the-wire) spelling."""

    UPSCALE = "u"  # upscale image <index>
    VARY = "v"  # a close variation of image <index>
    REROLL = "r"  # the same request with a new seed
    REMIX = "m"  # open the remix form for image <index>
    REMIX_SUBMIT = "mm"  # the remix form's submit (Discord modal custom_id)
    DELETE = "d"  # delete the result (older Discord ids carry a user id here, ignored)
    IMAGINE_THIS = "i"  # /imagine the text of a /describe result
    AGAIN = "a"  # run a job of /history again, as it was asked (its owner only)

    @property
    def command(self) -> str:
        """The name logged and shown for the job the action starts (``"variation"``)."""
        return _COMMAND[self]


_COMMAND = {
    Verb.UPSCALE: "upscale",
    Verb.VARY: "variation",
    Verb.REROLL: "reroll",
    Verb.REMIX: "remix",
    Verb.REMIX_SUBMIT: "remix",
    Verb.DELETE: "delete",
    Verb.IMAGINE_THIS: "imagine",
    Verb.AGAIN: "again",
}

# One set of bounds for both platforms: 6 + 2 + 1 + 64 + 1 + 20 = 94 characters at most.
ACTION_RE = re.compile(
    r"^easel:(?P<verb>mm|[uvrmdia]):(?P<job>[0-9A-Za-z_-]{1,64})(?::(?P<index>\d{1,20}))?$"
)


@dataclass(frozen=True, slots=True)
class Action:
    """A decoded action id; ``index`` is the image (0-based) where the verb takes one."""

    verb: Verb
    job_id: str
    index: int | None = None

    @property
    def id(self) -> str:
        return encode(self.verb, self.job_id, self.index)

    @property
    def image(self) -> int:
        """The image the action is about (the first when the id names none)."""
        return self.index or 0


def encode(verb: Verb, job_id: str, index: int | None = None) -> str:
    value = f"{PREFIX}{verb.value}:{job_id}" + (f":{index}" if index is not None else "")
    if ACTION_RE.fullmatch(value) is None:
        raise ValueError(f"not a valid action id: {value!r}")
    return value


def decode(value: str) -> Action | None:
    """The action of ``value``, or None when it is not an easel action id (older ones included)."""
    match = ACTION_RE.fullmatch(value)
    if match is None:
        return None
    verb = Verb(match["verb"])
    index = int(match["index"]) if match["index"] is not None else None
    return Action(verb, match["job"], None if verb is Verb.DELETE else index)


def is_stale(value: str) -> bool:
    """An ``easel:`` id that decodes to nothing: an older version's, or a forged one."""
    return value.startswith(PREFIX) and decode(value) is None
