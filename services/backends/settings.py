"""Settings models read from the environment: the base every backend's settings model extends.

A field declares its public variable, its meaning and (when the value alone would
mislead) how its default reads in the README, once::

    class AcmeSettings(BackendSettings):
        acme_timeout_s: float = setting("ACME_TIMEOUT_S", 60.0, gt=0, meaning="per-request timeout")

From that, :class:`EnvSettings` knows the model's variables (:meth:`~EnvSettings.variables`, for
the README table and the tests' list of variables to clear), which keyword arguments it takes
(:meth:`~EnvSettings.accepts`), and how to word a validation error: one line per variable, naming
it and never echoing its value (``include_input=False``). The core settings in
:mod:`bot.settings` use the same base, so every variable behaves alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "BackendSettings",
    "EnvSettings",
    "Variable",
    "http_url",
    "setting",
    "split_commas",
]

NO_DEFAULT = "—"


@dataclass(frozen=True, slots=True)
class Variable:
    """One public environment variable as the README documents it (markdown cells)."""

    name: str
    meaning: str
    default: str


def setting(
    env: str,
    default: Any = PydanticUndefined,
    *,
    meaning: str,
    shown_default: str | None = None,
    default_factory: Callable[[], Any] | None = None,
    **constraints: Any,
) -> Any:
    """A field read from exactly one public variable ``env`` (any case), documented by ``meaning``.

    ``shown_default`` is the README's default cell, verbatim markdown; without it the default
    value is shown in backticks (``—`` for none).
    """
    extra: dict[str, Any] = {"env": env}
    if shown_default is not None:
        extra["shown_default"] = shown_default
    common: dict[str, Any] = {
        "validation_alias": AliasChoices(env, env.lower()),
        "description": meaning,
        "json_schema_extra": extra,
        **constraints,
    }
    if default_factory is not None:
        return Field(default_factory=default_factory, **common)
    return Field(default, **common)


def split_commas(value: object) -> object:
    """``"a, b,,c"`` → ``["a", "b", "c"]``: comma lists as operators write them in ``.env`` files."""
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return value


def http_url(value: str) -> str:
    """A base URL must say its scheme (a bare host name would be taken as a path)."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class EnvSettings(BaseSettings):
    """Settings from the environment and an optional ``.env`` file; unknown variables are ignored."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    @classmethod
    def env_names(cls) -> dict[str, str]:
        """Field name → its public variable."""
        return {name: _env_of(field.json_schema_extra) for name, field in cls.model_fields.items()}

    @classmethod
    def variables(cls) -> list[Variable]:
        """This model's variables, in declaration order, as the README table shows them."""
        rows = []
        for name, field in cls.model_fields.items():
            extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
            shown = extra.get("shown_default")
            if shown is None:
                value = field.get_default(call_default_factory=True)
                shown = NO_DEFAULT if value in (None, [], "") else f"`{_plain(value)}`"
            rows.append(Variable(cls.env_names()[name], field.description or "", str(shown)))
        return rows

    @classmethod
    def accepts(cls, key: str) -> bool:
        """Whether ``key`` (a field name or a variable name, any case) is one of this model's settings."""
        if key in cls.model_fields:
            return True
        return key.upper() in cls.env_names().values()

    @classmethod
    def error_lines(cls, exc: ValidationError) -> list[str]:
        """One ``VARIABLE: what is wrong`` line per error; the rejected value is never included."""
        names = cls.env_names()
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            loc = err.get("loc") or ()
            field = str(loc[0]) if loc else ""
            name = names.get(field, field.upper() or "configuration")
            lines.append(f"{name}: {err['msg']}")
        return lines

    def secret_values(self) -> list[str]:
        """The values of every secret set here, so logs and messages can scrub them."""
        values = (getattr(self, name) for name in type(self).model_fields)
        return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and v.get_secret_value()]


class BackendSettings(EnvSettings):
    """A backend plugin's settings. :meth:`problems` names what is missing for it to work."""

    def problems(self) -> list[str]:
        """One sentence per missing variable (``"STABILITY_API_KEY (your Stability AI key)"``); empty when ready.

        Unlike validation errors (a value is wrong: easel refuses to start), a missing
        variable matters only when this backend is the one selected.
        """
        return []


def _env_of(extra: object) -> str:
    if isinstance(extra, dict) and isinstance(extra.get("env"), str):
        return str(extra["env"])
    raise TypeError("every settings field is declared with setting(ENV_NAME, ...)")


def _plain(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Path):
        return value.as_posix()
    return str(value)
