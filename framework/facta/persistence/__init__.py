"""The persistence layer: the back-ends (adapters) of the application's storage ports.

The in-memory back-end lives here; database back-ends live in their own subpackages
(``facta.persistence.sqlalchemy``, ``facta.persistence.mongo``) and are installed through
extras. Each implements the hooks of the contracts in ``facta.application.ports`` (the
unit of work, the outbox, the view, projection and event stores) and never calls the
mediator: the commit algorithm and what happens to events after it are the
application's. Those contracts and the policy around them (``EventFlow``,
``TransactionBehavior``) are re-exported here, where back-end authors look for them.
"""

import typing

from facta import _lazy

if typing.TYPE_CHECKING:
    from facta.application.event_flow import EventFlow
    from facta.application.ports.event_store import (
        EventStore,
        LoadedStream,
        RecordedEvent,
        StoredEvent,
        StoredSnapshot,
        StreamAppend,
    )
    from facta.application.ports.outbox import (
        DECODING,
        Delivery,
        DeliveryRecord,
        DeliverySettings,
        DeliveryStatus,
        DeliveryUpdate,
        Outbox,
        OutboxEntry,
        OutboxRow,
        OutboxStats,
        PendingEvent,
        Receipt,
        RetryPolicy,
        describe_error,
        is_exhausted,
        next_attempt,
        settle_failures,
    )
    from facta.application.ports.projection_store import ProjectionState, ProjectionStore
    from facta.application.ports.unit_of_work import (
        Change,
        ChangeKind,
        Commit,
        Repository,
        StoredState,
        UnitOfWork,
    )
    from facta.application.ports.view_store import ViewStore
    from facta.application.transaction import TransactionBehavior
    from facta.persistence.in_memory import (
        InMemoryOutbox,
        InMemoryPersistence,
        InMemoryStore,
        InMemoryUnitOfWork,
    )
else:
    __getattr__, __dir__ = _lazy.lazy_exports(
        globals(),
        {
            "facta.application.event_flow": ("EventFlow",),
            "facta.application.ports.event_store": (
                "EventStore",
                "LoadedStream",
                "RecordedEvent",
                "StoredEvent",
                "StoredSnapshot",
                "StreamAppend",
            ),
            "facta.application.ports.outbox": (
                "DECODING",
                "Delivery",
                "DeliveryRecord",
                "DeliverySettings",
                "DeliveryStatus",
                "DeliveryUpdate",
                "Outbox",
                "OutboxEntry",
                "OutboxRow",
                "OutboxStats",
                "PendingEvent",
                "Receipt",
                "RetryPolicy",
                "describe_error",
                "is_exhausted",
                "next_attempt",
                "settle_failures",
            ),
            "facta.application.ports.projection_store": ("ProjectionState", "ProjectionStore"),
            "facta.application.ports.unit_of_work": (
                "Change",
                "ChangeKind",
                "Commit",
                "Repository",
                "StoredState",
                "UnitOfWork",
            ),
            "facta.application.ports.view_store": ("ViewStore",),
            "facta.application.transaction": ("TransactionBehavior",),
            "facta.persistence.in_memory": (
                "InMemoryOutbox",
                "InMemoryPersistence",
                "InMemoryStore",
                "InMemoryUnitOfWork",
            ),
        },
    )

__all__ = [
    "DECODING",
    "Change",
    "ChangeKind",
    "Commit",
    "Delivery",
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryStatus",
    "DeliveryUpdate",
    "EventFlow",
    "EventStore",
    "InMemoryOutbox",
    "InMemoryPersistence",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "LoadedStream",
    "Outbox",
    "OutboxEntry",
    "OutboxRow",
    "OutboxStats",
    "PendingEvent",
    "ProjectionState",
    "ProjectionStore",
    "Receipt",
    "RecordedEvent",
    "Repository",
    "RetryPolicy",
    "StoredEvent",
    "StoredSnapshot",
    "StoredState",
    "StreamAppend",
    "TransactionBehavior",
    "UnitOfWork",
    "ViewStore",
    "describe_error",
    "is_exhausted",
    "next_attempt",
    "settle_failures",
]
