"""What a unit of work remembers of each aggregate it tracks, to tell whether it changed.

An aggregate changed when its state as stored (its JSON) differs from what was loaded or
last committed. Dumping the state to compare costs about as much as loading it, so a
``Loaded`` record avoids it where it can prove the answer without it:

- When every field value of the aggregate is immutable (text, numbers, ids, times,
  enums, tuples and frozen models of those) and its class serializes nothing but its
  fields, a shallow copy of its fields is a faithful record of its state: if each field
  still holds the very object it held then, the JSON is the same, with no dump at all.
  The JSON as loaded is then made only when a field was reassigned and no event was
  recorded (from that copy, so it is the JSON of the state as loaded).
- Otherwise (a list, a dict, a mutable model among the values), the JSON is taken when
  the aggregate is loaded, as before.

The answer is the same either way; only the cost differs.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from facta.domain import AggregateRoot
from facta.domain.aggregate import History, history_of
from facta.domain.aggregate import state_json as json_of
from facta.domain.slots import set_extra, set_fields, set_fields_set, set_private

__all__ = ["Status", "Tracked"]


class Status(enum.Enum):
    """Where a tracked aggregate stands with the store."""

    NEW = "new"
    LOADED = "loaded"
    REMOVED = "removed"


_LOADED = Status.LOADED  # a global: on Python 3.11 Enum class attributes are slow to read
_SCALARS = frozenset(
    {str, int, float, bool, type(None), bytes, Decimal, UUID, datetime, date, time, timedelta}
)
_plain_classes: dict[type[BaseModel], bool] = {}


def _serializes_fields_only(model_type: type[BaseModel]) -> bool:
    """Whether a model's JSON is made from its field values alone (no computed fields,
    no serializer methods, which could read other state, no extra fields)."""
    known = _plain_classes.get(model_type)
    if known is None:
        decorators = model_type.__pydantic_decorators__
        known = _plain_classes[model_type] = not (
            model_type.__pydantic_computed_fields__
            or decorators.field_serializers
            or decorators.model_serializers
            or model_type.model_config.get("extra") == "allow"
        )
    return known


def _immutable(value: object) -> bool:
    """Whether ``value`` (and everything it holds) can never change in place."""
    kind = type(value)
    if kind in _SCALARS:
        return True
    if kind is tuple or kind is frozenset:
        return all(_immutable(item) for item in value)  # type: ignore[attr-defined]
    if isinstance(value, enum.Enum):
        return type(value.value) in _SCALARS
    if isinstance(value, BaseModel):
        return (
            value.model_config.get("frozen") is True
            and _serializes_fields_only(type(value))
            and all(_immutable(item) for item in value.__dict__.values())
        )
    return False


class Tracked:
    """One aggregate of a unit of work: where it stands, and its state as it was loaded or
    last committed, to tell whether it changed since (``remember``).

    The state is recorded as a shallow copy of the aggregate's fields when their values
    are immutable, otherwise as its JSON; an aggregate with nothing recorded (new, added,
    or event-sourced) counts as changed. ``history`` is the aggregate's bookkeeping
    (``history_of``), read once here for the unit of work's commits: an aggregate keeps
    the same one for life.
    """

    __slots__ = ("_fields", "_json", "aggregate", "history", "status")

    def __init__(self, aggregate: AggregateRoot, status: Status) -> None:
        self.aggregate = aggregate
        self.status = status
        self.history: History = history_of(aggregate)
        self._fields: dict[str, Any] | None = None
        self._json: str | None = None

    def remember(self, state_json: str | None = None) -> None:
        """Record the aggregate's state as it is now (its JSON, when the caller has it).

        A shallow copy of its fields is a faithful record when every value is immutable
        and the class serializes its fields alone; otherwise the JSON is the record.
        """
        aggregate = self.aggregate
        fields = aggregate.__dict__
        values = fields.values()
        plain = _plain_classes.get(type(aggregate))
        if plain is None:
            plain = _serializes_fields_only(type(aggregate))
        if plain and (_SCALARS.issuperset(map(type, values)) or all(map(_immutable, values))):
            self._fields = dict(fields)
        else:
            self._fields = None
            if state_json is None:
                state_json = json_of(aggregate)  # the fields alone do not tell
        self._json = state_json

    def unchanged(self) -> bool:
        """True when the aggregate provably has the state recorded, without a dump; False
        when that takes comparing its JSON with ``recorded_json``."""
        recorded = self._fields
        if recorded is None:
            return False
        current = self.aggregate.__dict__
        if len(current) != len(recorded):
            return False
        value_of = current.get
        for name, value in recorded.items():  # the very same objects: equal is not enough
            if value_of(name, _MISSING) is not value:  # (1 == 1.0, but not in JSON)
                return False
        return True

    def recorded_json(self) -> str | None:
        """The JSON of the state recorded (None when nothing was)."""
        if self._json is None and self._fields is not None:
            aggregate = self.aggregate
            as_recorded = object.__new__(type(aggregate))
            set_fields(as_recorded, dict(self._fields))
            set_fields_set(as_recorded, set(aggregate.__pydantic_fields_set__))
            set_extra(as_recorded, None)
            set_private(as_recorded, None)
            self._json = json_of(as_recorded)
        return self._json

    def changed(self) -> bool:
        """Whether committing would write the aggregate's state (an event-sourced one
        writes its events instead: see ``UnitOfWork``)."""
        if self.status is not _LOADED:
            return True
        if self.unchanged():
            return False
        recorded = self.recorded_json()
        return recorded is None or json_of(self.aggregate) != recorded


_MISSING = object()
