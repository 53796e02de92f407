"""The shared words of /history and /settings (commands.history, commands.settings)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from commands.errors import OptionError
from commands.history import HistoryEntry, history_line, history_text
from commands.replies import PLAIN
from commands.settings import parse_settings_text, validate_changes
from tests.helpers.limits import SDXL


def _entry(n: int, prompt: str) -> HistoryEntry:
    return HistoryEntry(
        number=n,
        job_id=f"{n:032x}",
        command="/imagine",
        prompt=prompt,
        status="done",
        when=datetime(2026, 12, 1, tzinfo=UTC),
        model="stable-diffusion-xl-1024",
        link=f"http://127.0.0.1/channels/1/2/{10**17 + n}",
        can_run_again=True,
    )


def _escape_markdown(text: str) -> str:
    return "".join("\\" + c if c in "*_`~|>[]()" else c for c in text)


def _link(label: str, url: str) -> str:
    return f"[{label}]({url})"


def test_twenty_long_prompts_that_double_when_escaped_still_fit() -> None:
    entries = [_entry(n, "*_" * 900) for n in range(1, 21)]
    text = history_text(entries, PLAIN, escape=_escape_markdown, link=_link, max_chars=4096)
    assert len(text) <= 4096
    for n in range(1, 21):
        assert f"{n}. /imagine" in text and f"/{10**17 + n})" in text  # every entry keeps its link
    assert "\\*\\_" in text and "…" in text  # escaped, and cut with a mark


def test_when_even_bare_lines_do_not_fit_whole_lines_are_kept() -> None:
    entries = [_entry(n, "a boat") for n in range(1, 21)]
    text = history_text(entries, PLAIN, escape=str, link=_link, max_chars=600)
    assert len(text) <= 600
    lines = text.splitlines()
    assert all(line.endswith(")") for line in lines[1:])  # no line cut in the middle of its link


def test_a_short_prompt_is_shown_whole() -> None:
    line = history_line(_entry(3, "a red door"), PLAIN, escape=str, link=_link)
    assert line.startswith("3. /imagine “a red door” — done, ") and line.endswith(
        "· [result](http://127.0.0.1/channels/1/2/100000000000000003)"
    )


def test_settings_text_grammar() -> None:
    change = parse_settings_text("--ar 7:4 --n=2 style=Anime reset model")
    assert dict(change.values) == {
        "aspect_ratio": "7:4",
        "samples": "2",
        "style": "Anime",
        "model": "default",
    }
    assert validate_changes(change.values, SDXL) == {
        "aspect_ratio": "7:4",
        "samples": 2,
        "style": "anime",
        "model": None,
    }
    assert parse_settings_text("reset").reset_all
    with pytest.raises(OptionError, match="no setting called 'seed'"):
        parse_settings_text("seed=4")
    with pytest.raises(OptionError, match="name=value"):
        parse_settings_text("16:9")
    with pytest.raises(OptionError, match="between 1 and 10"):
        validate_changes({"samples": "11"}, SDXL)


def test_a_default_model_id_is_bounded() -> None:
    from dataclasses import replace

    open_models = replace(SDXL, models=())  # a backend that takes any model id
    assert validate_changes({"model": "my-checkpoint"}, open_models) == {"model": "my-checkpoint"}
    with pytest.raises(OptionError, match="too long for a default"):
        validate_changes({"model": "m" * 101}, open_models)
