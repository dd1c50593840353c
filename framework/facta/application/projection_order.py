"""The projection order behavior: an asynchronous projection applies each aggregate's
events in version order, none skipped, and waits while it is rebuilt.

Events reach an asynchronous projection after their commit, from the in-process
dispatch or from any relay process, in whatever order those race. Before a projection
applies an event from the outbox, this behavior asks the ``ProjectionStore`` whether an
earlier event of the same aggregate that the projection handles is still unapplied; if
so, the delivery is deferred (``EventOutOfOrder``) and the outbox retries it shortly,
without counting a failed attempt. Since the projection's success is recorded with its
writes, an event is applied only after every earlier one committed its effect.
"""

from __future__ import annotations

from facta.application import HandlerRegistry, NextStep, OperationContext, PipelineBehavior
from facta.application.ports.projection_store import ProjectionState, ProjectionStore
from facta.application.projections import ProjectionInfo
from facta.domain import DomainEvent
from facta.errors import EventOutOfOrder, ProjectionPaused

__all__ = ["ProjectionOrderBehavior"]


class ProjectionOrderBehavior(PipelineBehavior):
    """Defers an event that reaches an asynchronous projection too early (see module)."""

    def __init__(self, registry: HandlerRegistry, store: ProjectionStore) -> None:
        self._registry = registry
        self._store = store
        self._types: dict[str, tuple[ProjectionInfo | None, frozenset[str]]] = {}
        self._generation = -1

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        if not context.durable or not isinstance(message, DomainEvent):
            return await call_next()
        info, event_types = self._projection(context.handler)
        if info is None:
            return await call_next()
        waiting_for = await self._store.blocker(message, info.name, event_types)
        if waiting_for is ProjectionState.PAUSED:
            raise ProjectionPaused(info.name)
        if waiting_for is not None:
            raise EventOutOfOrder(
                info.name, message.event_type, str(message.event_id), str(waiting_for)
            )
        return await call_next()

    def _projection(self, handler: str) -> tuple[ProjectionInfo | None, frozenset[str]]:
        registry = self._registry
        if self._generation != registry.generation:
            self._types.clear()
            self._generation = registry.generation
        found = self._types.get(handler)
        if found is None:
            info = registry.projection(handler) if handler else None
            names: frozenset[str] = frozenset()
            if info is not None:
                known = registry.event_types.values()
                names = frozenset(event.event_type for event in info.event_types(known))
            found = self._types[handler] = (info, names)
        return found
