"""The in-memory back-end: the unit of work contract kept in a dictionary.

It keeps the semantics the databases have: state is stored as JSON (so what cannot be
stored fails here too), aggregates handed out are copies, a commit applies all of its
changes or none, and a stale version raises ``ConcurrencyError``. Use it in unit tests,
in the docs and for prototyping.
"""

from __future__ import annotations

from collections.abc import Sequence

import injector

from facta.application import OperationScope
from facta.application.dependencies import FactoryProvider
from facta.domain import AggregateRoot, DomainEvent
from facta.errors import ConcurrencyError
from facta.persistence.event_flow import EventFlow
from facta.persistence.unit_of_work import Change, ChangeKind, StoredState, UnitOfWork

__all__ = ["InMemoryPersistence", "InMemoryStore", "InMemoryUnitOfWork"]


class InMemoryStore:
    """The committed state of one application: aggregates and the log of committed events.

    One store belongs to one application; units of work read and write it.
    """

    def __init__(self) -> None:
        self._states: dict[tuple[str, str], StoredState] = {}
        self._events: list[DomainEvent] = []

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """Every committed event, in commit order."""
        return tuple(self._events)

    def state(self, aggregate_type: str, aggregate_id: str) -> StoredState | None:
        """The stored state of one aggregate, or None."""
        return self._states.get((aggregate_type, aggregate_id))

    def ids(self, aggregate_type: str) -> list[str]:
        """The ids of every stored aggregate of a type."""
        return [key[1] for key in self._states if key[0] == aggregate_type]

    def apply(self, changes: Sequence[Change], events: Sequence[DomainEvent]) -> None:
        """Check every change's version, then apply them all; raise before applying any."""
        for change in changes:
            stored = self._states.get((change.aggregate_type, change.aggregate_id))
            actual = 0 if stored is None else stored.version
            if actual != change.expected_version:
                raise ConcurrencyError(
                    change.aggregate_type, change.aggregate_id, change.expected_version, actual
                )
        for change in changes:
            key = (change.aggregate_type, change.aggregate_id)
            if change.kind is ChangeKind.DELETE:
                del self._states[key]
            else:
                self._states[key] = StoredState(change.state_json, change.new_version)
        self._events.extend(events)


class InMemoryUnitOfWork(UnitOfWork):
    """A unit of work over an ``InMemoryStore``."""

    def __init__(self, store: InMemoryStore, event_flow: EventFlow) -> None:
        super().__init__(event_flow)
        self._store = store

    async def load_state(
        self, aggregate_type: type[AggregateRoot], aggregate_id: str
    ) -> StoredState | None:
        return self._store.state(aggregate_type.aggregate_type, aggregate_id)

    async def write_changes(self, changes: Sequence[Change], events: Sequence[DomainEvent]) -> None:
        self._store.apply(changes, events)


class InMemoryPersistence(injector.Module):
    """Installs the in-memory back-end: one store per application, a unit of work per operation.

    Pass a ``store`` to look at (or share on purpose) what the application committed;
    otherwise each application gets a store of its own.
    """

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self._store = store

    def configure(self, binder: injector.Binder) -> None:
        store = self._store if self._store is not None else InMemoryStore()
        flows: list[EventFlow] = []

        def build(container: injector.Injector) -> UnitOfWork:
            if not flows:
                flows.append(container.get(EventFlow))
            return InMemoryUnitOfWork(store, flows[0])

        binder.bind(InMemoryStore, to=store)
        binder.bind(UnitOfWork, to=FactoryProvider(build), scope=OperationScope)  # type: ignore[type-abstract]
