"""Reading and writing JSON text in facta's JSON columns on each dialect.

Aggregate states and event payloads are serialized by pydantic (fast, exact); the columns
are JSON (JSONB on PostgreSQL) so that they stay queryable. These expressions move the
text in and out without a second serialization.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Text, bindparam, cast
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["json_param", "json_text"]


def json_param(name: str, dialect_name: str) -> ColumnElement[Any]:
    """A bound parameter taking JSON text, typed for the JSON column of ``dialect_name``."""
    text = bindparam(name, type_=Text)
    if dialect_name == "postgresql":
        return cast(text, postgresql.JSONB)
    return text


def json_text(column: ColumnElement[Any]) -> ColumnElement[str]:
    """A JSON column read back as its JSON text."""
    return cast(column, Text)
