"""The sentences of commands.replies, as each platform marks them up."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.discord.render import MARKUP as DISCORD
from bot.slack.mrkdwn import MARKUP as SLACK
from commands.replies import (
    PLAIN,
    OperatorView,
    error_text,
    not_allowed_to_delete,
    parse_result_filename,
    queued_line,
    quota_text,
    result_filename,
    working_line,
)
from services.errors import InvalidRequest, QuotaExceeded
from services.jobs.queued import POSITION_CAP
from services.quota import QuotaStatus
from services.types import Progress, SourceRef

RESET = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)


def test_quota_and_errors_read_the_same_on_both_platforms() -> None:
    error = QuotaExceeded(limit=25, used=24, requested=4, resets_at=RESET)
    discord, slack = error_text(error, DISCORD), error_text(error, SLACK)
    sentence = "You have 1 of your 25 daily units left and this request needs 4. More become available"
    assert discord.startswith(f"⛔ {sentence} <t:1893553440:R>") and discord.endswith("Nothing was spent.")
    assert slack.startswith(f":no_entry: {sentence} <!date^1893553440^") and "2030-01-02 03:04 UTC" in slack
    assert error_text(InvalidRequest("bad '<!here>'"), SLACK) == ":warning: bad '&lt;!here&gt;'"
    status = QuotaStatus(limit=25, used=0, remaining=25, resets_at=None)
    assert quota_text(status, SLACK) == "You have *25* of your 25 daily units left."
    used = QuotaStatus(limit=25, used=1, remaining=24, resets_at=RESET)
    assert quota_text(used, DISCORD).startswith(
        "You have **24** of your 25 daily units left. The next units come back"
    )


def test_status_lines_and_the_delete_sentence() -> None:
    assert queued_line(1) == "Queued — you're next"
    assert queued_line(3, resumed=True) == "easel restarted; your request is queued again — position 3"
    # A shared queue counts places up to POSITION_CAP ahead; past that the line says so.
    assert queued_line(POSITION_CAP + 1) == f"Queued — position {POSITION_CAP + 1}"
    assert queued_line(POSITION_CAP + 2) == f"Queued — more than {POSITION_CAP:,} requests ahead of yours"
    assert working_line() == "Working on it…"
    assert working_line(Progress(fraction=0.4, eta_s=3.2)) == "Working on it… 40 %, about 3 s left"
    assert working_line(Progress(fraction=1.7)) == "Working on it… 100 %"
    assert (
        not_allowed_to_delete(SLACK)
        == ":no_entry: Only the person who asked for these images can delete them."
    )
    assert not_allowed_to_delete(DISCORD, moderators="members who can manage messages") == (
        "🗑 Only the person who asked for these images, or members who can manage messages, can delete them."
    )


def test_result_file_names_are_parsed_back() -> None:
    name = result_filename("6f1c0a", 2, "jpg")
    assert name == "easel-6f1c0a-3.jpg" and parse_result_filename(name) == SourceRef("6f1c0a", 2)
    for other in ("easel-6f1c0a-0.png", "easel-6f1c0a-1.gif", "photo.png", "easel-a/b-1.png"):
        assert parse_result_filename(other) is None


def test_a_quota_of_zero_says_generation_is_off_on_both_platforms_and_at_the_cli() -> None:
    off = QuotaExceeded(limit=0, used=0, requested=1, resets_at=RESET)
    assert error_text(off, DISCORD) == "⛔ Image generation is turned off here. Nothing was spent."
    assert error_text(off, SLACK) == ":no_entry: Image generation is turned off here. Nothing was spent."
    assert "become available" not in off.user_message
    cli = error_text(off, PLAIN, operator=OperatorView(command="imagine"))
    assert cli == "image generation is turned off (EASEL_DAILY_QUOTA=0); set it above 0 to make images."
    assert quota_text(QuotaStatus(limit=0, used=0, remaining=0, resets_at=None), SLACK) == (
        "Image generation is turned off here."
    )


def test_every_error_reply_fits_both_platforms_by_construction() -> None:
    from commands.replies import ERROR_TEXT_MAX_CHARS

    floods = ["& < > " * 2000, "*_~`|" * 2000, "@everyone " * 900, "word " * 5000, "x" * 10_000]
    for flood in floods:
        for markup in (DISCORD, SLACK):
            text = error_text(InvalidRequest(flood), markup)
            assert len(text) <= ERROR_TEXT_MAX_CHARS < 2000, (markup, len(text))
            assert text.endswith("…")
    short = error_text(InvalidRequest("--n must be between 1 and 10."), SLACK)
    assert not short.endswith("…")
