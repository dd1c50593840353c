"""The event flow: how committed events leave a unit of work.

Before the write, it stamps each event with its correlation and causation ids from the
current operation, stops event storms, and says which events no handler needs. After the
write, it dispatches the events to their handlers in order (the fast path) and records
the outcome in the outbox: delivered, or failed and due again later. Whatever the fast path
does not finish (a failure, a crash) the relay finishes from the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from facta.application import HandlerRegistry, Mediator, OperationScope
from facta.application.dependencies import Constructor
from facta.application.ports.outbox import DeliverySettings, Outbox, OutboxEntry
from facta.application.projections import Projection
from facta.application.tracing import current_traceparent
from facta.domain import DomainEvent
from facta.domain.events import stamped
from facta.errors import EventStormError

__all__ = ["EventFlow"]

_log = logging.getLogger("facta.outbox")
_make = tuple.__new__  # a NamedTuple from all its fields, without its Python-level __new__
_now = datetime.now  # utc_now() without a Python-level call, on every commit


class EventFlow:
    """Stamps, checks and dispatches the events of every unit of work of one application.

    ``max_event_depth`` is how many messages (events, and the commands their handlers
    send) may follow the first one of a chain; a unit of work deeper than that which
    records events is refused with ``EventStormError`` before it writes anything.
    """

    def __init__(
        self,
        mediator: Mediator,
        scope: OperationScope,
        outbox: Outbox,
        settings: DeliverySettings,
        max_event_depth: int,
    ) -> None:
        self._mediator = mediator
        self.registry: HandlerRegistry = mediator.registry
        """The handler registry of the application (its event classes and upcasters, and
        whether any projection runs inline)."""
        self._scope = scope
        self._outbox = outbox
        self._settings = settings
        self._max_event_depth = max_event_depth
        self._inline: dict[type[Projection], Constructor[Projection]] = {}
        self._grace = settings.grace
        self._known_types: set[type[DomainEvent]] = set()  # registered by add_event_type
        self.instrumented = mediator._instrumentation is not None
        """Whether the application has instrumentation (``committing`` does nothing if not);
        a mediator's instrumentation is given when it is made and never changes."""

    def committing(
        self, unit_of_work: object, aggregates: int, events: int
    ) -> AbstractContextManager[object]:
        """The instrumentation hook around one unit of work's write (a no-op by default)."""
        return self._mediator.instrumentation.committing(unit_of_work, aggregates, events)

    def prepare(self, events: Sequence[DomainEvent]) -> list[OutboxEntry]:
        """The outbox entries for ``events``, stamped with this operation's ids."""
        if not events:
            return []
        metadata: dict[str, Any] | None = None
        checked = False  # whether the ids are of the declared types (stamped, not validated)
        context = self._scope.context
        if context is not None:
            if len(context.chain) > self._max_event_depth:  # its depth, counted from 0
                raise EventStormError(
                    (*context.chain, *(event.event_type for event in events)),
                    self._max_event_depth,
                )
            correlation_id, causation_id = context.correlation_id, context.message_id
            if context.causation_id is not None and not isinstance(context.message, DomainEvent):
                # a command sent by an event handler is not stored: name the stored event
                # that caused it, so the chain can be followed from event to event
                causation_id = context.causation_id
            metadata = {
                "correlation_id": correlation_id,
                "causation_id": causation_id,
                "traceparent": current_traceparent(),
            }
            # None, or a context built by hand: with_metadata checks the types
            checked = type(correlation_id) is UUID and type(causation_id) is UUID
        available_at = _now(UTC) + self._grace
        registry = self.registry
        handlers = registry.event_handlers
        known = self._known_types
        entries: list[OutboxEntry] = []
        for event in events:  # one pass: stamp, register, and make the entry
            if metadata is not None:
                event = stamped(event, metadata) if checked else event.with_metadata(**metadata)
            event_type = type(event)
            if event_type not in known:
                registry.add_event_type(event_type)
                known.add(event_type)
            entries.append(_make(OutboxEntry, (event, not handlers(event_type), available_at)))
        return entries

    async def apply_inline(self, unit_of_work: object, entries: Sequence[OutboxEntry]) -> None:
        """Run the inline projections of each event, in order, in ``unit_of_work``.

        Their view writes are staged in that unit of work, so they commit with the
        aggregates and the events, or not at all: a projection that raises fails the
        commit.
        """
        registry = self.registry
        instrumentation = self._mediator._instrumentation  # None: no hook on the hot path
        for entry in entries:
            event = entry.event
            for projection in registry.inline_projections(type(event)):
                constructor = self._inline.get(projection)
                if constructor is None:
                    container: Any = self._scope.injector
                    constructor = self._inline[projection] = Constructor.of(projection, container)
                instance = constructor.create_with(unit_of_work)
                if instrumentation is None:
                    await instance.handle(event)
                    continue
                with instrumentation.projecting(constructor.name, event):
                    await instance.handle(event)

    async def dispatch(self, entries: Sequence[OutboxEntry]) -> None:
        """Run the handlers of each committed event, in order, and record the outcome.

        Nothing here raises: the commit that produced the events has succeeded, and what
        fails is recorded for the relay to retry (or, if even that fails, left for the
        relay to find once the grace period is over).
        """
        delivered: list[UUID] = []
        for entry in entries:
            if entry.delivered:
                continue
            event = entry.event
            try:
                report = await self._mediator.dispatch(event, durable=True)
                if report.ok:
                    delivered.append(event.event_id)
                else:
                    await self._outbox.record_failures(
                        event,
                        self._mediator.handler_names(type(event)),
                        report.failures,
                        self._settings.retry,
                    )
            except Exception:
                _log.exception(
                    "could not record the delivery of %s %s; the relay will retry it",
                    event.event_type,
                    event.event_id,
                )
        if delivered:
            try:
                await self._outbox.complete(delivered)
            except Exception:
                _log.exception("could not mark %d delivered events", len(delivered))
