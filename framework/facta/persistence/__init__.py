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
    DeliveryRecord,
    DeliverySettings,
    DeliveryStatus,
    Outbox,
    OutboxEntry,
    OutboxStats,
    PendingEvent,
    Receipt,
    RetryPolicy,
    describe_error,
    is_exhausted,
    next_attempt,
)
from facta.persistence.transaction import TransactionBehavior
from facta.persistence.unit_of_work import (
    Change,
    ChangeKind,
    Commit,
    Repository,
    StoredState,
    UnitOfWork,
)

__all__ = [
    "Change",
    "ChangeKind",
    "Commit",
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryStatus",
    "EventFlow",
    "EventStore",
    "InMemoryOutbox",
    "InMemoryPersistence",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "LoadedStream",
    "Outbox",
    "OutboxEntry",
    "OutboxStats",
    "PendingEvent",
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
    "describe_error",
    "is_exhausted",
    "next_attempt",
]
