"""The README's generated flag table matches the option declarations in commands/."""

from __future__ import annotations

from bot.readme import README, env_table, render
from bot.variables import documented_variables
from services.backends.settings import Variable


def test_readme_flag_table_is_current() -> None:
    text = README.read_text()
    assert "<!-- FLAGS:BEGIN -->" in text
    assert render(text) == text, "README is stale: run `python -m bot.readme`"


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "make run" in text and "make test" in text


def test_readme_variable_table_is_generated_from_the_settings_models() -> None:
    text = README.read_text()
    assert "<!-- ENV:BEGIN -->\n" + env_table() + "<!-- ENV:END -->" in text, (
        "README is stale: run `python -m bot.readme`"
    )
    # Every variable of the core and of every backend plugin is in it, once per row.
    for variable in documented_variables():
        assert f"`{variable.name}`" in env_table()
    assert env_table().count("`STABILITY_API_KEY`") == 1


def test_variable_table_shares_a_row_only_between_neighbours_with_one_meaning() -> None:
    rows = [
        Variable("A_TOKEN", "the front end", "—"),
        Variable("A_SECRET", "the front end", "—"),
        Variable("A_PORT", "a port", "`1`"),
    ]
    assert env_table(rows).splitlines()[2:] == [
        "| `A_TOKEN`, `A_SECRET` | the front end | — |",
        "| `A_PORT` | a port | `1` |",
    ]
