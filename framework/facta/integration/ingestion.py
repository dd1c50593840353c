"""Ingestion: CloudEvents from other services, to typed handlers, through an inbox.

Every way in (the HTTP endpoint, the AMQP consumer) hands parsed CloudEvents to the
``Ingestor``. It finds the contract of the event's type (upcasting older versions),
validates the data into it, and runs each ``IntegrationEventHandler`` of the type in its
own operation and unit of work. The inbox is the handler's receipt, keyed by the event's
``source`` and ``id``, committed in the same transaction as the handler's writes: an event
already processed is acknowledged and not run again, and a refused event writes nothing.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import injector
import pydantic
from cloudevents.core.v1.event import CloudEvent

from facta.application import HandlerRegistry, OperationContext, OperationScope
from facta.application.dependencies import Constructor
from facta.application.instrumentation import Instrumentation
from facta.application.integration import Envelope, IntegrationEvent
from facta.application.messages import field_errors
from facta.application.tracing import trace_context
from facta.errors import (
    AlreadyDelivered,
    EventHandlingError,
    FieldError,
    HandlerFailure,
    InvalidEventData,
    UnknownEventType,
)
from facta.integration.cloudevents import envelope_of
from facta.persistence import Outbox, Receipt, UnitOfWork

__all__ = ["IngestResult", "Ingestor", "inbox_key"]

_log = logging.getLogger("facta.ingestion")
_JSON_TYPES = ("application/json", "text/json")


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
    """Validates incoming CloudEvents and runs their handlers exactly once per event."""

    def __init__(
        self,
        registry: HandlerRegistry,
        container: injector.Injector,
        scope: OperationScope,
        outbox: Outbox,
        instrumentation: Instrumentation | None = None,
    ) -> None:
        self._instrumentation = instrumentation or Instrumentation()
        self._registry = registry
        self._container = container
        self._scope = scope
        self._outbox = outbox
        self._constructors: dict[type[Any], Constructor[Any]] = {}

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
                constructor = self._constructor(handler_type)
                if await self._outbox.is_delivered(key, constructor.name):
                    duplicates.append(constructor.name)
                    continue
                try:
                    await self._run(constructor, data, envelope, key)
                except AlreadyDelivered:
                    duplicates.append(constructor.name)
                except Exception as error:
                    _log.error(
                        "integration handler %s failed on %s %s from %s",
                        constructor.name,
                        event_type,
                        envelope.id,
                        envelope.source,
                        exc_info=error,
                    )
                    failures.append(HandlerFailure(constructor.name, error))
                else:
                    handled.append(constructor.name)
        if failures:
            raise EventHandlingError(event_type, envelope.id, failures)
        return IngestResult(event_type, tuple(handled), tuple(duplicates))

    async def ingest_all(self, events: Sequence[CloudEvent]) -> list[IngestResult]:
        """Validate every event first (so a bad batch writes nothing), then ingest each."""
        for event in events:
            self.validate(event)
        return [await self.ingest(event) for event in events]

    async def _run(
        self,
        constructor: Constructor[Any],
        data: IntegrationEvent,
        envelope: Envelope,
        key: uuid.UUID,
    ) -> None:
        correlation = _uuid(envelope.correlation_id) or key
        context = OperationContext(
            message=data,
            message_id=key,
            correlation_id=correlation,
            causation_id=None,
            chain=(envelope.type,),
            handler=constructor.name,
        )
        token = self._scope.enter(context)
        try:
            handler = constructor.create()
            await handler.handle(data, envelope)
            unit_of_work = self._scope.peek(UnitOfWork)
            if not isinstance(unit_of_work, UnitOfWork):
                unit_of_work = self._container.get(UnitOfWork)  # type: ignore[type-abstract]
            await unit_of_work.commit(receipt=Receipt(key, constructor.name))
        finally:
            await self._scope.exit(token)

    def _constructor(self, handler_type: type[Any]) -> Constructor[Any]:
        constructor = self._constructors.get(handler_type)
        if constructor is None:
            constructor = Constructor.of(handler_type, self._container)
            self._constructors[handler_type] = constructor
        return constructor


def _json_data(event: CloudEvent) -> object:
    content_type = (event.get_datacontenttype() or "application/json").split(";")[0].strip()
    data = event.get_data()
    if not (content_type in _JSON_TYPES or content_type.endswith("+json")):
        raise InvalidEventData(
            event.get_type(), [_field_error(f"datacontenttype {content_type} is not JSON")]
        )
    if isinstance(data, bytes | str):
        try:
            return json.loads(data)
        except ValueError as error:
            raise InvalidEventData(
                event.get_type(), [_field_error(f"data is not JSON: {error}")]
            ) from error
    return data


def _field_error(message: str) -> FieldError:
    return FieldError(location=(), message=message, code="invalid")


def _uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
