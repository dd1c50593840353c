"""Column types that give the views back exactly as they were saved, on every database.

- ``Money``: NUMERIC(10,2) in, ``Decimal`` in cents out. SQLite has no decimal type (it
  keeps a float), so the value is read back through its shortest text and rounded to
  cents, which is exact for amounts of ten digits.
- ``UtcTimestamp``: a timezone-aware UTC ``datetime``. PostgreSQL keeps a
  ``timestamptz``; SQLite keeps naive text, read back as UTC.
- ``Document``: a value (lines, history, toppings) as JSON (JSONB on PostgreSQL),
  written and read back through a pydantic ``TypeAdapter``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import JSON, Dialect, Numeric, TypeDecorator
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeEngine

from facta.persistence.sqlalchemy import UtcDateTime
from pizzeria.domain.money import to_cents

__all__ = ["Document", "Money", "UtcTimestamp"]


class Money(TypeDecorator[Decimal]):
    """An amount of money: NUMERIC(10,2), read back as a ``Decimal`` with two places."""

    impl = Numeric(10, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            # read the stored float as it is; process_result_value makes it a Decimal
            return dialect.type_descriptor(Numeric(10, 2, asdecimal=False))
        return dialect.type_descriptor(Numeric(10, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return to_cents(value) if dialect.name != "sqlite" else float(to_cents(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return to_cents(value if isinstance(value, Decimal) else Decimal(str(value)))


UtcTimestamp = UtcDateTime
"""A timezone-aware UTC timestamp (facta's own column type); a naive ``datetime`` is refused."""


class Document(TypeDecorator[Any]):
    """A value stored as JSON, validated back into its type by ``adapter``."""

    impl = JSON
    cache_ok = True

    def __init__(self, adapter: TypeAdapter[Any]) -> None:
        super().__init__()
        self.adapter = adapter

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(JSON())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.adapter.dump_python(value, mode="json")

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.adapter.validate_python(value)
