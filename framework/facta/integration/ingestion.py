"""Ingestion: CloudEvents from other services, to typed handlers, through an inbox.

Every way in (the HTTP endpoint, the AMQP consumer) hands parsed CloudEvents to the
``Ingestor``. It finds the contract of the event's type (upcasting older versions),
validates the data into it, and has the mediator run each ``IntegrationEventHandler`` of
the type, each in its own operation, through the integration event pipeline
(``MessageKind.INTEGRATION_EVENT``): the behaviors registered for that kind see it, and
the transaction behavior commits the handler's writes together with its inbox receipt,
keyed by the event's ``source`` and ``id``. An event already processed is acknowledged
and not run again, and a refused event writes nothing. Copies of one event that race
each other are each a success: the loser of the race finds the winner's receipt.

``is_permanent`` tells the ways in which failures retrying cannot fix (bad input, a
handler's ``PermanentFailure``) from those that may pass (a database that is down).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pydantic
from cloudevents.core.v1.event import CloudEvent

from facta.application import HandlerRegistry, Mediator
from facta.application.handlers import handler_name
from facta.application.integration import Envelope, IntegrationEvent
from facta.application.messages import field_errors
from facta.application.ports.outbox import Outbox
from facta.application.tracing import trace_context
from facta.errors import (
    AlreadyDelivered,
    ConcurrencyError,
    DomainError,
    EventHandlingError,
    FieldError,
    HandlerFailure,
    IntegrationError,
    InvalidCloudEvent,
    InvalidEventData,
    MessageValidationError,
    PermanentFailure,
    PersistenceError,
    PublishFailed,
    UnknownEventType,
)
from facta.integration.cloudevents import envelope_of, is_json
from facta.integration.limits import DEFAULT_MAX_DEPTH, load_json

__all__ = [
    "REFUSALS",
    "IngestResult",
    "Ingestor",
    "inbox_key",
    "is_permanent",
    "is_transient",
]

_log = logging.getLogger("facta.ingestion")

REFUSALS: tuple[type[IntegrationError], ...] = (
    InvalidCloudEvent,
    UnknownEventType,
    InvalidEventData,
)
"""What a way in raises for input that can never be processed: refuse it, never retry."""

DEFAULT_CONFLICT_RETRIES = 5
_PERMANENT = (*REFUSALS, PermanentFailure, MessageValidationError, DomainError)
_TRANSIENT = (PersistenceError, PublishFailed, OSError, TimeoutError)


def is_permanent(error: BaseException) -> bool:
    """Whether retrying cannot fix ``error``: bad input (a refusal, a message that fails
    validation, a business rule), a ``PermanentFailure``, or a handling error all of whose
    handler failures are such."""
    if isinstance(error, EventHandlingError):
        return bool(error.failures) and all(is_permanent(f.error) for f in error.failures)
    return isinstance(error, _PERMANENT)


def is_transient(error: BaseException) -> bool:
    """Whether ``error`` is an outage that passes (a store or a broker that cannot be
    reached, a conflict with another writer), so the same input may succeed later."""
    if isinstance(error, EventHandlingError):
        return any(is_transient(f.error) for f in error.failures)
    return isinstance(error, _TRANSIENT) and not is_permanent(error)


def inbox_key(source: str, event_id: str) -> uuid.UUID:
    """The inbox key of a CloudEvent: a UUID derived from its ``source`` and ``id``."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{source}\n{event_id}")


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What one ingested event did: the handlers that ran, and those that had already."""

    event_type: str
    handled: tuple[str, ...]
    duplicates: tuple[str, ...]


class Ingestor:
    """Validates incoming CloudEvents and has their handlers run exactly once per event.

    A handler whose commit loses a race with another writer (``ConcurrencyError``) is a
    duplicate when the winner was a copy of the same event (its receipt is there), and is
    otherwise run again in a fresh operation, up to ``conflict_retries`` times.
    """

    def __init__(
        self,
        registry: HandlerRegistry,
        mediator: Mediator,
        outbox: Outbox,
        *,
        conflict_retries: int = DEFAULT_CONFLICT_RETRIES,
    ) -> None:
        self._instrumentation = mediator.instrumentation
        self._registry = registry
        self._mediator = mediator
        self._outbox = outbox
        self._conflict_retries = conflict_retries

    @property
    def accepted_types(self) -> tuple[str, ...]:
        """The CloudEvent types this service accepts (handled, or upcast to handled)."""
        return self._registry.handled_cloudevent_types

    def validate(self, event: CloudEvent) -> tuple[str, IntegrationEvent]:
        """The handled type and typed data of ``event``, upcast as needed, or a typed error.

        Raises ``UnknownEventType`` or ``InvalidEventData``; nothing is written.
        """
        event_type = event.get_type()
        data = _json_data(event)
        seen: set[str] = set()
        while not self._registry.integration_handlers(event_type):
            upcaster = self._registry.upcaster(event_type)
            if upcaster is None or event_type in seen:
                raise UnknownEventType(event.get_type(), self.accepted_types)
            seen.add(event_type)
            if not isinstance(data, dict):
                raise InvalidEventData(event_type, [])
            try:
                data = upcaster().upcast(dict(data))
            except Exception as error:
                raise InvalidEventData(
                    event_type, [_field_error(f"the upcaster failed: {error}")]
                ) from error
            event_type = upcaster.target.cloudevent_type
        contract = self._registry.integration_type(event_type)
        assert contract is not None  # a handled type always has its contract registered
        try:
            return event_type, contract.model_validate(data)
        except pydantic.ValidationError as error:
            raise InvalidEventData(event_type, field_errors(error)) from error

    async def ingest(self, event: CloudEvent) -> IngestResult:
        """Validate ``event`` and run each of its handlers that has not processed it yet.

        Raises ``UnknownEventType``/``InvalidEventData`` before anything runs, and
        ``EventHandlingError`` after every handler had its turn if any of them failed
        (those that succeeded are recorded and will not run again on a redelivery).
        """
        event_type, data = self.validate(event)
        envelope = envelope_of(event)
        key = inbox_key(envelope.source, envelope.id)
        handled: list[str] = []
        duplicates: list[str] = []
        failures: list[HandlerFailure] = []
        traceparent = envelope.extensions.get("traceparent")
        with (
            trace_context(traceparent if isinstance(traceparent, str) else None),
            self._instrumentation.receiving(event),
        ):
            for handler_type in self._registry.integration_handlers(event_type):
                name = handler_name(handler_type)
                try:
                    ran = await self._deliver(handler_type, name, data, envelope, key)
                except Exception as error:
                    _log.error(
                        "integration handler %s failed on %s %s from %s",
                        name,
                        event_type,
                        envelope.id,
                        envelope.source,
                        exc_info=error,
                    )
                    failures.append(HandlerFailure(name, error))
                else:
                    (handled if ran else duplicates).append(name)
        if failures:
            raise EventHandlingError(event_type, envelope.id, failures)
        return IngestResult(event_type, tuple(handled), tuple(duplicates))

    async def ingest_all(self, events: Sequence[CloudEvent]) -> list[IngestResult]:
        """Validate every event first (so a bad batch writes nothing), then ingest each."""
        for event in events:
            self.validate(event)
        return [await self.ingest(event) for event in events]

    async def _deliver(
        self,
        handler_type: type[Any],
        name: str,
        data: IntegrationEvent,
        envelope: Envelope,
        key: uuid.UUID,
    ) -> bool:
        """Run one handler unless its receipt is there; whether it ran (False: duplicate)."""
        attempt = 0
        while True:
            if await self._outbox.is_delivered(key, name):
                return False
            try:
                await self._mediator.handle_integration_event(
                    handler_type, data, envelope, inbox_key=key
                )
            except AlreadyDelivered:
                return False  # a copy of this event committed first: its receipt won
            except ConcurrencyError:
                attempt += 1
                if await self._outbox.is_delivered(key, name):
                    return False  # the writer that won was a copy of this very event
                if attempt > self._conflict_retries:
                    raise
                await asyncio.sleep(random.uniform(0, 0.005 * 2**attempt))
                continue
            return True


def _json_data(event: CloudEvent) -> object:
    content_type = event.get_datacontenttype()
    data = event.get_data()
    if not is_json(content_type):
        raise InvalidEventData(
            event.get_type(), [_field_error(f"datacontenttype {content_type} is not JSON")]
        )
    if isinstance(data, bytes | str):
        try:
            return load_json(data, DEFAULT_MAX_DEPTH, "the data")
        except InvalidCloudEvent as error:
            raise InvalidEventData(event.get_type(), [_field_error(error.reason)]) from error
    return data


def _field_error(message: str) -> FieldError:
    return FieldError(location=(), message=message, code="invalid")
