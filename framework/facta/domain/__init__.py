"""The domain layer: aggregates, entities, value objects, events and business errors.

It imports nothing from facta's other layers, so a domain model can be read, tested and
reasoned about without any framework machinery in view.
"""

from facta.domain.aggregate import AggregateRoot, new_id
from facta.domain.event_sourced import EventSourcedAggregate, event_schema_version
from facta.domain.events import (
    METADATA_FIELDS,
    DomainEvent,
    Timestamp,
    iso_milliseconds,
    utc_now,
)
from facta.domain.model import Entity, ValueObject
from facta.errors import DomainError

__all__ = [
    "METADATA_FIELDS",
    "AggregateRoot",
    "DomainError",
    "DomainEvent",
    "Entity",
    "EventSourcedAggregate",
    "Timestamp",
    "ValueObject",
    "event_schema_version",
    "iso_milliseconds",
    "new_id",
    "utc_now",
]
