"""``/verify`` and ``easel verify``: declared once, answered in the same sentences everywhere.

::

    VERIFY.description                 # the command pickers' line
    lines = verification_lines(result) # ["easel mark found: …", "Made on …"] (plain text)

Front ends render the lines ephemerally (Discord: an ephemeral follow-up; Slack: a response
only the caller sees); the CLI prints them after the path.
"""

from __future__ import annotations

from commands.info import VERIFY
from services.provenance.verify import Verification

__all__ = ["NO_MARK", "VERIFY", "VERIFY_IMAGE_HELP", "verification_lines"]

VERIFY_IMAGE_HELP = "The picture to check (PNG, JPEG or WebP; screenshots and re-encodes are fine)"
NO_MARK = "No easel mark found."


def verification_lines(result: Verification) -> list[str]:
    """What to tell the person who asked, one sentence a line."""
    return _mark_lines(result) + _credential_lines(result)


def _credential_lines(result: Verification) -> list[str]:
    c = result.credentials
    if not c.present:
        return []
    if c.tampered:
        return [
            f"Content credentials (C2PA) present but do not match the picture: tampered ({', '.join(c.problems)})."
        ]
    trust = "" if c.trusted else ", from a signer readers do not trust yet"
    return [f"Content credentials (C2PA) valid: signed by {c.signer}{trust}."]


def _mark_lines(result: Verification) -> list[str]:
    if not result.mark:
        return [NO_MARK]
    if not result.this_instance:
        return [f"easel mark found, made by another easel installation (instance {result.instance_id})."]
    lines = [f"easel mark found: made by this bot (instance {result.instance_id}, job {result.job_prefix})."]
    job = result.job
    if job is None:
        lines.append("That job is no longer in this bot's records.")
        return lines
    when = job.created_at.strftime("%Y-%m-%d %H:%M UTC")
    model = f" with {job.model}" if job.model else ""
    lines.append(f"Made on {when} by /{job.operation}{model}.")
    if job.requester is not None:
        lines.append(f"Asked by {job.requester.display_name or job.requester.user_id} ({job.requester.key}).")
    return lines
