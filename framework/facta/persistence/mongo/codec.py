"""Pydantic models as BSON documents, and back, with their types intact.

A model is dumped in Python mode and each value becomes its natural BSON type:

- ``Decimal`` → Decimal128 (exact up to 34 significant digits; more is refused);
- ``UUID`` → binary subtype 4 (``uuidRepresentation="standard"``);
- an aware ``datetime`` → a BSON date in UTC, **to the millisecond**: MongoDB keeps no
  finer time, so microseconds are cut (rounded down) when the document is written, and
  the value is read back aware, in UTC. A naive ``datetime`` is stored as its ISO text,
  so it comes back exactly as it was, naive;
- an enum → its value; nested models (value objects) → embedded documents; tuples and
  sets → arrays; ``bytes`` → binary; anything else pydantic can put in JSON (dates,
  durations, paths, URLs...) → its JSON form.

Reading is the reverse: the database handle facta uses (``CODEC_OPTIONS``) returns aware
UTC datetimes, ``UUID`` objects and ``Decimal`` for Decimal128, and the model validates
the document. So the round trip is exact, but for an aware datetime's sub-millisecond
part: an aggregate committed at 12:00:00.123456 is loaded back at 12:00:00.123000.
Truncation happens when writing, not when recording: the unit of work that committed an
aggregate keeps its microseconds; every unit of work that loads it sees milliseconds.
(An event's own ``occurred_at`` is recorded to the millisecond, so the relay reads back
the very event that was dispatched; record other times to the millisecond, with
``truncate_to_millisecond``, where a handler must see the same value from either.)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from typing import Any
from uuid import UUID

from bson.binary import UuidRepresentation
from bson.codec_options import CodecOptions, TypeDecoder, TypeRegistry
from bson.decimal128 import Decimal128
from pydantic import BaseModel
from pydantic_core import PydanticSerializationError, to_jsonable_python

from facta.errors import PersistenceError

__all__ = ["CODEC_OPTIONS", "Document", "to_bson", "to_document", "truncate_to_millisecond"]

Document = dict[str, Any]
"""A BSON document as PyMongo reads and writes it."""

_INT64 = range(-(2**63), 2**63)


class _DecimalDecoder(TypeDecoder):
    """Decimal128 values are read back as ``Decimal``."""

    bson_type = Decimal128

    def transform_bson(self, value: Any) -> Decimal:
        decimal: Decimal = value.to_decimal()
        return decimal


CODEC_OPTIONS: CodecOptions[Document] = CodecOptions(
    document_class=dict,
    tz_aware=True,
    tzinfo=UTC,
    uuid_representation=UuidRepresentation.STANDARD,
    type_registry=TypeRegistry([_DecimalDecoder()]),
)
"""How facta reads and writes BSON, whatever options the client was made with."""


def truncate_to_millisecond(moment: datetime) -> datetime:
    """``moment`` in UTC, its microseconds cut to whole milliseconds (what MongoDB keeps)."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


def to_document(model: BaseModel) -> Document:
    """The BSON document of a model's fields (see the module docstring for the types)."""
    try:
        return _document(model.model_dump())
    except PydanticSerializationError as error:
        raise PersistenceError(
            f"cannot store {type(model).__name__}: {error}; nothing was written"
        ) from error
    except _Unstorable as error:
        raise error.refusal(type(model).__name__) from error.__cause__


def to_bson(value: object) -> Any:
    """One value as BSON can hold it (see the module docstring); ``PersistenceError`` if
    it cannot be stored."""
    try:
        return _value(value)
    except _Unstorable as error:
        raise error.refusal("value") from error.__cause__


class _Unstorable(Exception):
    """A value BSON cannot hold; collects the path to it on its way out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str] = []

    def refusal(self, owner: str) -> PersistenceError:
        where = "".join(reversed(self.path))
        return PersistenceError(
            f"cannot store {owner}{where} in MongoDB: {self.reason}; nothing was written"
        )


def _document(fields: Mapping[Any, object]) -> Document:
    document: Document = {}
    for key, item in fields.items():
        name = _key(key)
        try:
            document[name] = _value(item)
        except _Unstorable as error:
            error.path.append(f".{name}")
            raise
    return document


def _value(value: object) -> Any:
    if isinstance(value, enum.Enum):
        return _value(value.value)
    if value is None or isinstance(value, str | bool | float | bytes | UUID):
        return value
    if isinstance(value, int):
        if value not in _INT64:
            raise _Unstorable(f"{value} does not fit in 64 bits (use Decimal)")
        return value
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            return value.isoformat()  # naive: kept exactly, as text
        return truncate_to_millisecond(value)
    if isinstance(value, Decimal):
        try:
            return Decimal128(value)
        except DecimalException as error:
            raise _Unstorable(
                f"{value} is not a Decimal128 (at most 34 significant digits)"
            ) from error
    if isinstance(value, Mapping):
        return _document(value)
    if isinstance(value, list | tuple | set | frozenset):
        items = []
        for index, item in enumerate(value):
            try:
                items.append(_value(item))
            except _Unstorable as error:
                error.path.append(f"[{index}]")
                raise
        return items
    if isinstance(value, BaseModel):  # a model kept as a model (``SerializeAsAny``, say)
        return _document(value.model_dump())
    try:
        jsonable = to_jsonable_python(value)
    except PydanticSerializationError as error:
        raise _Unstorable(str(error)) from error
    return _value(jsonable)


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, enum.Enum):
        return _key(key.value)
    return str(to_jsonable_python(key))
