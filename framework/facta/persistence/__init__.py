"""The persistence layer: the unit of work and repository contracts, the outbox, back-ends.

The in-memory back-end lives here; database back-ends live in their own subpackages and
are installed through extras.
"""

from facta.persistence.event_flow import EventFlow
from facta.persistence.event_store import (
    EventStore,
    LoadedStream,
    RecordedEvent,
    StoredEvent,
    StoredSnapshot,
    StreamAppend,
)
from facta.persistence.in_memory import (
    InMemoryOutbox,
    InMemoryPersistence,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from facta.persistence.outbox import (
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
from facta.persistence.projection_store import ProjectionState, ProjectionStore
from facta.persistence.transaction import TransactionBehavior
from facta.persistence.unit_of_work import (
    Change,
    ChangeKind,
    Commit,
    Repository,
    StoredState,
    UnitOfWork,
)
from facta.persistence.view_store import ViewStore

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
