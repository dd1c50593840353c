"""Domain events: immutable facts, named in the past tense, that an aggregate records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

__all__ = ["METADATA_FIELDS", "DomainEvent", "utc_now"]


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def _event_time() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


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


class DomainEvent(BaseModel):
    """Something that happened in the domain, recorded by an aggregate root.

    Subclass it with the event's payload as typed fields and a past-tense name
    (``OrderConfirmed``). The metadata is filled in for you: ``event_id`` and
    ``occurred_at`` when the event is created, ``aggregate_id`` and ``aggregate_version``
    when the aggregate records it, ``correlation_id`` and ``causation_id`` when the unit of
    work commits it, so that "what happened because of X?" can always be answered, and
    ``traceparent`` (W3C trace context) when a trace was active at the commit.
    ``occurred_at`` is kept to the millisecond, the precision every back-end (MongoDB
    included) stores exactly, so an event reads back, and is re-sent, unchanged.

    ``event_type`` names the event in storage and logs; it defaults to the class name and
    can be set on the class (``event_type: ClassVar[str] = "orders.OrderConfirmed"``) to
    keep stored events readable after a rename.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str] = "DomainEvent"

    event_id: UUID = Field(default_factory=uuid4)
    occurred_at: AwareDatetime = Field(default_factory=_event_time)
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
        value = value.astimezone(UTC)
        return value.replace(microsecond=value.microsecond // 1000 * 1000)

    def with_metadata(self, **metadata: Any) -> Self:
        """A copy of this event with metadata fields (ids, version) filled in.

        facta calls it when an event is recorded and committed. The values are not
        validated again: pass only metadata fields, with their declared types.
        """
        clone = object.__new__(type(self))
        object.__setattr__(clone, "__dict__", {**self.__dict__, **metadata})
        object.__setattr__(
            clone, "__pydantic_fields_set__", self.__pydantic_fields_set__ | metadata.keys()
        )
        object.__setattr__(clone, "__pydantic_extra__", None)
        object.__setattr__(clone, "__pydantic_private__", None)
        return clone

    def payload(self) -> dict[str, Any]:
        """The event's own fields, without the metadata, as JSON-compatible values."""
        return self.model_dump(mode="json", exclude=_METADATA_EXCLUDE)
