"""The persistence layer: the unit of work and repository contracts and their back-ends.

The in-memory back-end lives here; database back-ends live in their own subpackages and
are installed through extras.
"""

from facta.persistence.event_flow import EventFlow
from facta.persistence.in_memory import InMemoryPersistence, InMemoryStore, InMemoryUnitOfWork
from facta.persistence.transaction import TransactionBehavior
from facta.persistence.unit_of_work import (
    Change,
    ChangeKind,
    Repository,
    StoredState,
    UnitOfWork,
)

__all__ = [
    "Change",
    "ChangeKind",
    "EventFlow",
    "InMemoryPersistence",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "Repository",
    "StoredState",
    "TransactionBehavior",
    "UnitOfWork",
]
