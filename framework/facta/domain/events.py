"""Domain events: immutable facts, named in the past tense, that an aggregate records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Self, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)

from facta.domain.ids import event_time, random_uuid
from facta.domain.slots import set_extra, set_fields, set_fields_set, set_private
from facta.errors import ConfigurationError

__all__ = [
    "METADATA_FIELDS",
    "DomainEvent",
    "Timestamp",
    "iso_milliseconds",
    "stamped",
    "utc_now",
]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def iso_milliseconds(moment: datetime) -> str:
    """``moment`` as ISO 8601 text in UTC, always to the millisecond and fixed-width
    (``2025-06-01T19:30:00.000Z``), so that timestamps sort as text; naive means UTC."""
    if moment.tzinfo is not None and moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    # isoformat, not strftime (several times slower); its first 23 characters are the
    # date and time to the millisecond, whatever follows (an offset, or nothing)
    return moment.isoformat(timespec="milliseconds")[:23] + "Z"


_IN_MILLISECONDS = PlainSerializer(iso_milliseconds, return_type=str, when_used="json")
_TIMESTAMP_SCHEMA = WithJsonSchema(
    {"type": "string", "format": "date-time", "examples": ["2025-06-01T19:30:00.000Z"]},
    mode="serialization",
)

Timestamp = Annotated[datetime, _IN_MILLISECONDS, _TIMESTAMP_SCHEMA]
"""A ``datetime`` that JSON shows in UTC to the millisecond, fixed-width
(``2025-06-01T19:30:00.000Z``): use it for the times of API answers and events."""


METADATA_FIELDS = frozenset(
    {
        "event_id",
        "occurred_at",
        "aggregate_id",
        "aggregate_version",
        "correlation_id",
        "causation_id",
        "traceparent",
    }
)
"""The fields every event carries that the framework fills in; the rest is its payload."""

_METADATA_EXCLUDE = set(METADATA_FIELDS)
_NO_OFFSET = timedelta(0)


def _is_uuid_or_none(value: object) -> bool:
    return value is None or isinstance(value, UUID)


def _is_str_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


_METADATA_CHECKS: dict[str, Callable[[object], bool]] = {
    "event_id": lambda value: isinstance(value, UUID),
    "occurred_at": lambda value: isinstance(value, datetime) and value.utcoffset() is not None,
    "aggregate_id": lambda value: isinstance(value, str),
    "aggregate_version": lambda value: (
        isinstance(value, int) and not isinstance(value, bool) and value >= 0
    ),
    "correlation_id": _is_uuid_or_none,
    "causation_id": _is_uuid_or_none,
    "traceparent": _is_str_or_none,
}
_METADATA_TYPES = {
    "event_id": "a UUID",
    "occurred_at": "a timezone-aware datetime",
    "aggregate_id": "a str",
    "aggregate_version": "an int >= 0",
    "correlation_id": "a UUID or None",
    "causation_id": "a UUID or None",
    "traceparent": "a str or None",
}


class DomainEvent(BaseModel):
    """Something that happened in the domain, recorded by an aggregate root.

    Subclass it with the event's payload as typed fields and a past-tense name
    (``OrderConfirmed``). The metadata is filled in for you: ``event_id`` and
    ``occurred_at`` when the event is created, ``aggregate_id`` and ``aggregate_version``
    when the aggregate records it, ``correlation_id`` and ``causation_id`` when the unit of
    work commits it, so that "what happened because of X?" can always be answered, and
    ``traceparent`` (W3C trace context) when a trace was active at the commit.
    ``occurred_at`` is kept to the millisecond, the precision every back-end (MongoDB
    included) stores exactly, so an event reads back, and is re-sent, unchanged; in JSON
    it is always written with its milliseconds (``...T19:30:00.000Z``).

    ``event_type`` names the event in storage and logs; it defaults to the class name and
    can be set on the class (``event_type: ClassVar[str] = "orders.OrderConfirmed"``) to
    keep stored events readable after a rename.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = "DomainEvent"

    event_id: UUID = Field(default_factory=random_uuid)
    occurred_at: Annotated[AwareDatetime, _IN_MILLISECONDS, _TIMESTAMP_SCHEMA] = Field(
        default_factory=event_time
    )
    aggregate_id: str = ""
    aggregate_version: int = Field(default=0, ge=0)
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    traceparent: str | None = None

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "event_type" not in cls.__dict__:
            cls.event_type = cls.__name__

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        if value.microsecond % 1000 == 0 and value.utcoffset() == _NO_OFFSET:
            return value.replace(tzinfo=UTC)  # as stored: one copy, not two
        value = value.astimezone(UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def with_metadata(self, **metadata: Any) -> Self:
        """A copy of this event with metadata fields (ids, version) filled in.

        facta calls it when an event is recorded and committed. Only the metadata fields
        may be given, each with its declared type (``ConfigurationError`` otherwise), so
        the copy reads back as it was written; the event's private attributes are kept.
        """
        for name, value in metadata.items():
            check = _METADATA_CHECKS.get(name)
            if check is None:
                raise ConfigurationError(
                    f"{name!r} is not a metadata field of {type(self).__name__}: "
                    f"with_metadata() sets only {', '.join(sorted(METADATA_FIELDS))}"
                )
            if not check(value):
                raise ConfigurationError(
                    f"{type(self).__name__}.with_metadata() got {type(value).__name__} "
                    f"{value!r:.80} for {name}: it must be {_METADATA_TYPES[name]}"
                )
        if "occurred_at" in metadata:
            metadata["occurred_at"] = self._in_utc(metadata["occurred_at"])
        return stamped(self, metadata)

    def payload(self) -> dict[str, Any]:
        """The event's own fields, without the metadata, as JSON-compatible values."""
        return self.model_dump(mode="json", exclude=_METADATA_EXCLUDE)


E = TypeVar("E", bound=DomainEvent)
_new = object.__new__

# The fields sets of stamped copies, shared by the copies of one event class made from
# the same fields set with the same metadata names: pydantic never changes the set of a
# frozen model (only assignment adds to it, and a copy gets a set of its own), so one set
# serves them all, and an event kept in memory keeps no set of its own. Per class: its
# shapes, each as (the fields set given, the metadata names, the set of the copies).
_fields_sets: dict[type[DomainEvent], list[tuple[frozenset[str], frozenset[str], set[str]]]] = {}
_SHAPES_PER_CLASS = 16  # a class is stamped in a few shapes; past this, sets are not shared


def _fields_set(kind: type[DomainEvent], given: set[str], metadata: dict[str, Any]) -> set[str]:
    """The fields set of a copy of a ``kind`` event, shared when its class is frozen."""
    fields_set = given.union(metadata)
    shapes = _fields_sets.setdefault(kind, [])
    if kind.model_config.get("frozen") and len(shapes) < _SHAPES_PER_CLASS:
        shapes.append((frozenset(given), frozenset(metadata), fields_set))
    return fields_set


def stamped(event: E, metadata: dict[str, Any]) -> E:
    """A copy of ``event`` with the ``metadata`` fields replaced, nothing validated.

    ``with_metadata`` checks what it is given, then calls this; facta calls it directly
    with values it made itself (an aggregate's id and version, the operation's ids), of
    the declared types by construction. The copy is made the way pydantic's
    ``model_copy`` makes one (the fields' dict, the fields set, the private attributes),
    without its generic path.
    """
    kind = type(event)
    given = event.__pydantic_fields_set__
    for fields, names, shared in _fields_sets.get(kind, ()):
        if fields == given and names == metadata.keys():
            fields_set = shared
            break
    else:
        fields_set = _fields_set(kind, given, metadata)
    clone = _new(kind)
    set_fields(clone, {**event.__dict__, **metadata})
    set_fields_set(clone, fields_set)
    set_extra(clone, None)
    private = event.__pydantic_private__
    set_private(clone, None if private is None else {**private})
    return clone
