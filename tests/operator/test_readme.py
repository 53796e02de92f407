"""The README's generated flag table matches the option declarations in commands/."""

from __future__ import annotations

from bot.readme import README, render


def test_readme_flag_table_is_current() -> None:
    text = README.read_text()
    assert "<!-- FLAGS:BEGIN -->" in text
    assert render(text) == text, "README is stale: run `python -m bot.readme`"


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text
