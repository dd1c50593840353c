"""The event flow: how committed events leave a unit of work.

Before the write, it stamps each event with its correlation and causation ids from the
current operation, and stops event storms; after the write, it dispatches the events to
their handlers through the mediator, in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from facta.application import Mediator, OperationScope
from facta.domain import DomainEvent
from facta.errors import EventStormError

__all__ = ["EventFlow"]


class EventFlow:
    """Stamps, checks and dispatches the events of every unit of work of one application.

    ``max_event_depth`` is how many events may follow one another from the first message
    of a chain; a unit of work deeper than that which records events is refused with
    ``EventStormError`` before it writes anything.
    """

    def __init__(self, mediator: Mediator, scope: OperationScope, max_event_depth: int) -> None:
        self._mediator = mediator
        self._scope = scope
        self._max_event_depth = max_event_depth

    def prepare(self, events: Sequence[DomainEvent]) -> list[DomainEvent]:
        """The events to commit, carrying the correlation and causation of this operation."""
        context = self._scope.context
        if context is None or not events:
            return list(events)
        if context.depth >= self._max_event_depth:
            raise EventStormError(
                (*context.chain, *(event.event_type for event in events)), self._max_event_depth
            )
        correlation_id, causation_id = context.correlation_id, context.message_id
        return [
            event.with_metadata(correlation_id=correlation_id, causation_id=causation_id)
            for event in events
        ]

    async def dispatch(self, events: Sequence[DomainEvent]) -> None:
        """Run the handlers of each committed event, in order.

        A failed handler is logged by the mediator and does not stop the others or the
        following events: the commit that produced the events has already succeeded.
        """
        for event in events:
            await self._mediator.dispatch(event)
