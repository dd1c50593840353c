"""Settings from the environment: one typed, validated field per variable.

Subclass ``Settings``, declare the fields with their types and defaults, set
``env_prefix``, and call ``from_env()``: ``PIZZERIA_DATABASE_URL`` fills ``database_url``
of a class with ``env_prefix = "PIZZERIA_"``. Values are validated by pydantic (use
``SecretStr`` for tokens, so they never show in logs); a bad value is a
``ConfigurationError`` naming the variable, raised at start-up rather than mid-request.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from facta.errors import ConfigurationError

__all__ = ["Settings"]


class Settings(BaseModel):
    """A service's settings, read from environment variables named after the fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env_prefix: ClassVar[str] = ""

    @classmethod
    def variable(cls, field: str) -> str:
        """The environment variable of a field (``database_url`` -> ``PREFIX_DATABASE_URL``)."""
        return f"{cls.env_prefix}{field}".upper()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Self:
        """The settings from ``environ`` (``os.environ`` by default), then ``overrides``."""
        source = os.environ if environ is None else environ
        values: dict[str, object] = {
            name: source[cls.variable(name)]
            for name in cls.model_fields
            if cls.variable(name) in source
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            problems = "; ".join(
                f"{cls.variable(str(item['loc'][0])) if item['loc'] else cls.__name__}: "
                f"{item['msg']}"
                for item in error.errors(include_url=False)
            )
            raise ConfigurationError(f"invalid settings: {problems}") from error
