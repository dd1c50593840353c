"""The domain layer: aggregates, entities, value objects, events and business errors.

It imports nothing from facta's other layers, so a domain model can be read, tested and
reasoned about without any framework machinery in view.
"""

import typing

from facta import _lazy

if typing.TYPE_CHECKING:
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
else:
    __getattr__, __dir__ = _lazy.lazy_exports(
        globals(),
        {
            "facta.domain.aggregate": ("AggregateRoot", "new_id"),
            "facta.domain.event_sourced": ("EventSourcedAggregate", "event_schema_version"),
            "facta.domain.events": (
                "METADATA_FIELDS",
                "DomainEvent",
                "Timestamp",
                "iso_milliseconds",
                "utc_now",
            ),
            "facta.domain.model": ("Entity", "ValueObject"),
            "facta.errors": ("DomainError",),
        },
    )

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
