"""The pizzeria's settings, from ``PIZZERIA_*`` environment variables.

| variable | field | default |
|---|---|---|
| ``PIZZERIA_DATABASE_URL`` | ``database_url`` | none: in memory (but see below) |
| ``PIZZERIA_MANAGER_TOKEN`` | ``manager_token`` | ``manager-dev-token`` (development only) |
| ``PIZZERIA_STAFF_TOKEN`` | ``staff_token`` | ``staff-dev-token`` (development only) |
| ``PIZZERIA_HOST`` | ``host`` | ``127.0.0.1`` |
| ``PIZZERIA_PORT`` | ``port`` | ``8000`` |
| ``PIZZERIA_BROKER_URL`` | ``broker_url`` | none: integration events are not published |
| ``PIZZERIA_EXCHANGE`` | ``exchange`` | ``facta.events`` |
| ``PIZZERIA_METRICS`` | ``metrics`` | ``none``; ``prometheus`` serves ``GET /metrics`` |
| ``PIZZERIA_OTLP_ENDPOINT`` | ``otlp_endpoint`` | none: no OTLP export of traces and metrics |
| ``PIZZERIA_SERVICE_NAME`` | ``service_name`` | ``pizzeria`` (the telemetry's ``service.name``) |
| ``PIZZERIA_MAX_RELAY_LAG`` | ``max_relay_lag`` | ``300`` (seconds of relay lag still ready) |

No database URL means in-memory persistence (tests, the tutorial); ``python -m pizzeria
serve`` then uses ``sqlite:///pizzeria.db``, a file in the current folder. A URL puts the
aggregates, the outbox and the read models in that database: ``sqlite:///pizzeria.db`` or
``postgresql://user:password@host/pizzeria``. The tokens are the web API's bearer tokens:
the manager's changes the menu, the staff's moves orders through the kitchen (see
``pizzeria.web.auth``). They are ``SecretStr``, so they never show in a log or a repr.
A broker URL (``amqp://guest:guest@127.0.0.1/``) publishes the pizzeria's integration
events (``pizzeria.integration``) as CloudEvents to RabbitMQ, through the outbox.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from facta.hosting.settings import Settings

__all__ = [
    "DATABASE_URL_VARIABLE",
    "DEV_MANAGER_TOKEN",
    "DEV_STAFF_TOKEN",
    "PizzeriaSettings",
    "describe_database",
]

DATABASE_URL_VARIABLE = "PIZZERIA_DATABASE_URL"
"""The environment variable the command line reads the database URL from."""

DEV_MANAGER_TOKEN = "manager-dev-token"
"""The manager's bearer token when none is set: for development only."""

DEV_STAFF_TOKEN = "staff-dev-token"
"""The kitchen and delivery staff's bearer token when none is set: for development only."""

_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+.-]+://[^:/@]*):[^@]*@", re.IGNORECASE)


class PizzeriaSettings(Settings):
    """How one pizzeria is set up; bound in its application's container.

    ``database_url`` is None for in-memory persistence; an empty variable counts as unset.
    """

    env_prefix = "PIZZERIA_"

    database_url: str | None = None
    manager_token: SecretStr = Field(default=SecretStr(DEV_MANAGER_TOKEN))
    staff_token: SecretStr = Field(default=SecretStr(DEV_STAFF_TOKEN))
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8000, ge=1, le=65535)
    broker_url: str | None = None
    exchange: str = Field(default="facta.events", min_length=1)
    metrics: Literal["none", "prometheus"] = "none"
    otlp_endpoint: str | None = None
    service_name: str = Field(default="pizzeria", min_length=1)
    max_relay_lag: float = Field(default=300.0, gt=0)

    @field_validator("database_url", "broker_url", "otlp_endpoint", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("manager_token", "staff_token")
    @classmethod
    def _long_enough(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value().strip()) < 8:
            raise ValueError("a token needs at least 8 characters")
        return token

    @model_validator(mode="after")
    def _tokens_differ(self) -> PizzeriaSettings:
        if self.manager_token.get_secret_value() == self.staff_token.get_secret_value():
            raise ValueError("the manager and staff tokens must differ (they grant other rights)")
        return self

    @property
    def in_memory(self) -> bool:
        """True when the pizzeria keeps everything in memory."""
        return self.database_url is None

    @property
    def uses_development_tokens(self) -> bool:
        """True when either token is still its development default."""
        return self.manager_token.get_secret_value() == DEV_MANAGER_TOKEN or (
            self.staff_token.get_secret_value() == DEV_STAFF_TOKEN
        )

    def describe(self) -> str:
        """Where the data is kept, fit to print (a password is masked)."""
        return "memory" if self.database_url is None else describe_database(self.database_url)

    def describe_events(self) -> str:
        """Where integration events are published, fit to print (a password is masked)."""
        if self.broker_url is None:
            return f"not published (set {self.variable('broker_url')} to publish to RabbitMQ)"
        return f"RabbitMQ {describe_database(self.broker_url)}, exchange {self.exchange!r}"


def describe_database(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    return _PASSWORD.sub(r"\g<head>:***@", url)
