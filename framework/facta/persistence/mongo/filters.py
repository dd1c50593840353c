"""Filters facta builds: fixed field names, and values checked to be plain values.

MongoDB reads a mapping where a value is expected as an operator expression: a filter
``{"id": user_input}`` with ``user_input = {"$ne": ""}`` would match every document.
facta never builds a filter from a mapping it was given; every value that goes into one
passes through these checks first, so an id or a handler name that is not a ``str`` (an
event id that is not a ``UUID``, a time that is not an aware ``datetime``) is refused.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from facta.errors import PersistenceError

__all__ = ["checked_datetime", "checked_str", "checked_uuid"]


def checked_str(value: object, what: str) -> str:
    """``value`` if it is a ``str``; a refusal naming ``what`` otherwise."""
    if isinstance(value, str):
        return value
    raise _refused(value, what, "a str")


def checked_uuid(value: object, what: str) -> UUID:
    """``value`` if it is a ``UUID``; a refusal naming ``what`` otherwise."""
    if isinstance(value, UUID):
        return value
    raise _refused(value, what, "a UUID")


def checked_datetime(value: object, what: str) -> datetime:
    """``value`` if it is a timezone-aware ``datetime``; a refusal otherwise."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    raise _refused(value, what, "a timezone-aware datetime")


def _refused(value: object, what: str, expected: str) -> PersistenceError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return PersistenceError(
        f"refused {type(value).__name__} {shown} as {what}: it must be {expected}; facta "
        f"never reads a value from outside as a MongoDB query (no operator can be injected)"
    )
