"""The pizzeria's one setting: where it keeps its data, as a database URL.

No URL means in-memory persistence (tests, the tutorial). A URL puts the aggregates, the
outbox and the read models in that database: ``sqlite:///pizzeria.db`` or
``postgresql://user:password@host/pizzeria``. From the command line the URL comes from
the ``PIZZERIA_DATABASE_URL`` environment variable.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["DATABASE_URL_VARIABLE", "PizzeriaSettings", "describe_database"]

DATABASE_URL_VARIABLE = "PIZZERIA_DATABASE_URL"
"""The environment variable the command line reads the database URL from."""

_PASSWORD = re.compile(r"^(?P<head>[a-z0-9+.-]+://[^:/@]*):[^@]*@", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class PizzeriaSettings:
    """How one pizzeria application is set up; bound in its container.

    ``database_url`` is None for in-memory persistence.
    """

    database_url: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PizzeriaSettings:
        """The settings the environment gives (``os.environ`` by default); an empty
        ``PIZZERIA_DATABASE_URL`` counts as unset."""
        environ = os.environ if environ is None else environ
        return cls(database_url=environ.get(DATABASE_URL_VARIABLE, "").strip() or None)

    @property
    def in_memory(self) -> bool:
        """True when the pizzeria keeps everything in memory."""
        return self.database_url is None

    def describe(self) -> str:
        """Where the data is kept, fit to print (a password is masked)."""
        return "memory" if self.database_url is None else describe_database(self.database_url)


def describe_database(url: str) -> str:
    """``url`` with its password, if any, replaced by ``***``."""
    return _PASSWORD.sub(r"\g<head>:***@", url)
