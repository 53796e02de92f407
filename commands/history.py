"""``/history``: a person's last 20 jobs, written once for both front ends, and the *run again* action.

A front end reads the records (``JobService.history``), turns them into :class:`HistoryEntry`
values with its own link maker (Discord knows the result message, Slack the channel), and
renders them with :func:`history_text` (one block that fits a limit by construction: the
prompt excerpts shrink, nothing else is cut) or :func:`history_line` (one entry)::

    records = await jobs.history(requester)                     # newest first, at most 20
    entries = history_entries(records, link=discord_link, limits=limits)
    text = history_text(entries, MARKUP, escape=safe, link=md_link, max_chars=4096)
    request = await run_again(jobs, "6f1c…", requester, limits)  # the button easel:a:<job>

**Who may run a job again:** only the person who asked for it. A history is private (it is
only ever shown to its owner) and a prompt asked in a private channel or a DM stays theirs, so
an ``easel:a:<job>`` id pressed by someone else (forged, or copied) is refused. Anyone may still
press 🔁 under a public result, which is the same request with a new seed. Running again
re-submits the stored request unchanged (a seed that was given is kept, so the same picture
comes back; a random one is drawn again) as the clicking person, through the normal path:
their quota, the server's budgets, the prompt policy and the channel's NSFW rules all apply.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from commands import COMMANDS
from commands.followups import JobReader
from commands.info import HISTORY
from commands.replies import Markup
from services.backends.base import BackendLimits
from services.errors import JobNotFound, NotAllowed
from services.types import GenerationRequest, Requester

if TYPE_CHECKING:
    from services.jobs import JobRecord

__all__ = [
    "HISTORY",
    "HISTORY_LIMIT",
    "NOT_YOURS",
    "NO_HISTORY",
    "HistoryEntry",
    "history_entries",
    "history_header",
    "history_line",
    "history_text",
    "run_again",
]

HISTORY_LIMIT = 20
PROMPT_MAX = 80  # characters of a prompt shown when there is room
_MODEL_MAX = 24  # model ids are long (stable-diffusion-xl-1024-v1-0); 20 lines must fit

NO_HISTORY = "You have no jobs yet. Try /imagine."
NOT_YOURS = (
    "Only the person who asked for a job can run it again from /history. "
    "To try someone's public result yourself, press 🔁 under it."
)
_GONE = "That job's request is gone (deleted, or its pictures were purged), so I can't run it again."

_STATUS_WORDS = {
    "done": "done",
    "failed": "failed",
    "cancelled": "cancelled",
    "queued": "waiting",
    "running": "running",
    "delivering": "posting",
}


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One line of a history, platform-neutral: the front end escapes ``prompt`` and formats ``link``.

    ``number`` is 1 for the newest; ``link`` is where the result can be seen (None: unknown, or
    the job has no result); ``can_run_again`` says whether the *run again* button is offered.
    """

    number: int
    job_id: str
    command: str  # "/imagine", or the button that started it ("variation")
    prompt: str
    status: str
    when: datetime
    model: str
    link: str | None
    can_run_again: bool


def _command(record: JobRecord) -> str:
    """``/imagine``; a button's job by its name (``variation``); a run again as ``/imagine again``."""
    kind = str(record.origin.get("kind") or record.origin.get("command") or "")
    request = record.request
    spec = next((c for c in COMMANDS.values() if request and c.operation is request.operation), None)
    if kind == "again" and spec is not None:
        return f"/{spec.name} again"
    if not kind and spec is not None:
        kind = spec.name
    return f"/{kind}" if kind in COMMANDS else (kind or "?")


def _short(model: str) -> str:
    return model if len(model) <= _MODEL_MAX else model[: _MODEL_MAX - 1] + "…"


def _runnable(record: JobRecord, limits: BackendLimits) -> bool:
    if record.request is None or record.deleted:
        return False
    spec = next((c for c in COMMANDS.values() if c.operation is record.request.operation), None)
    return spec is not None and spec.available_on(limits)


def history_entries(
    records: Sequence[JobRecord], *, link: Callable[[JobRecord], str | None], limits: BackendLimits
) -> tuple[HistoryEntry, ...]:
    """The entries of ``records`` (newest first), at most :data:`HISTORY_LIMIT`."""
    entries = []
    for number, record in enumerate(records[:HISTORY_LIMIT], 1):
        request = record.request
        prompt = request.positive_prompt if request is not None else str(record.origin.get("prompt") or "")
        entries.append(
            HistoryEntry(
                number=number,
                job_id=record.job_id,
                command=_command(record),
                prompt=" ".join(prompt.split()),
                status=_STATUS_WORDS.get(record.status.value, record.status.value),
                when=record.created_at,
                model=_short(record.model or (request.model if request is not None else None) or ""),
                link=link(record) if record.status.value == "done" else None,
                can_run_again=_runnable(record, limits),
            )
        )
    return tuple(entries)


def history_header(count: int) -> str:
    if count == 0:
        return NO_HISTORY
    jobs = "job" if count == 1 else f"{count} jobs"
    return f"Your last {jobs}, newest first. Only you can see this; the numbered buttons run a job again."


def _fit(text: str, budget: int, escape: Callable[[str], str]) -> str:
    """``text`` cut (with …) so that, escaped, it takes at most ``budget`` characters."""
    keep = min(len(text), budget)
    while keep > 0:
        shown = escape(text if keep >= len(text) else text[: keep - 1] + "…")
        if len(shown) <= budget:
            return shown
        keep = min(keep - 1, keep * budget // len(shown))  # escaping may double a character
    return ""


def history_line(
    entry: HistoryEntry,
    markup: Markup,
    *,
    escape: Callable[[str], str],
    link: Callable[[str, str], str],
    prompt_chars: int = PROMPT_MAX,
) -> str:
    """``**3.** /imagine “a lighthouse…” — done, <when> · sdxl · [result](…)``.

    ``escape`` makes user text inert on the platform; ``link(label, url)`` writes a link.
    """
    prompt = _fit(entry.prompt, prompt_chars, escape)
    parts = [f"{markup.bold(f'{entry.number}.')} {entry.command}"]
    if prompt:
        parts.append(f" “{prompt}”")
    parts.append(f" — {entry.status}, {markup.when(entry.when)}")
    if entry.model:
        parts.append(f" · {escape(entry.model)}")
    if entry.link:
        parts.append(f" · {link('result', entry.link)}")
    return "".join(parts)


def history_text(
    entries: Sequence[HistoryEntry],
    markup: Markup,
    *,
    escape: Callable[[str], str],
    link: Callable[[str, str], str],
    max_chars: int,
) -> str:
    """The header and every entry in at most ``max_chars`` characters: prompts get what is left."""
    header = history_header(len(entries))
    if not entries:
        return header
    bare = [history_line(e, markup, escape=escape, link=link, prompt_chars=0) for e in entries]
    quotes = len(" “”")
    spare = max_chars - len(header) - sum(len(b) + 1 for b in bare) - quotes * len(entries)
    per_prompt = max(0, min(PROMPT_MAX, spare // len(entries)))
    lines = [history_line(e, markup, escape=escape, link=link, prompt_chars=per_prompt) for e in entries]
    text = "\n".join([header, *lines])
    if len(text) > max_chars:  # only when even the bare lines do not fit: keep whole lines
        kept: list[str] = [header]
        for line in bare:
            if sum(len(k) + 1 for k in kept) + len(line) > max_chars:
                break
            kept.append(line)
        text = "\n".join(kept)
    return text


async def run_again(jobs: JobReader, job_id: str, by: Requester, limits: BackendLimits) -> GenerationRequest:
    """The stored request of ``job_id``, to submit again as ``by``; see the module docstring for who may.

    Raises :class:`NotAllowed` for someone else's job, :class:`JobNotFound` when the job or its
    inputs are gone, and ``UnsupportedOption`` when this backend no longer offers the command.
    """
    record = await jobs.get_job(job_id)
    if record.requester.key != by.key:
        raise NotAllowed(NOT_YOURS, log_detail=f"run again of job {job_id} by someone else")
    if record.deleted or record.request is None:
        raise JobNotFound(_GONE, log_detail=f"job {job_id} deleted or without its inputs")
    spec = next((c for c in COMMANDS.values() if c.operation is record.request.operation), None)
    if spec is not None:
        spec.check_available(limits)
    return record.request
