"""The CloudEvents bridge: the domain event handler that publishes integration events.

For each committed domain event that has one or more contracts, it builds the versioned
CloudEvents and hands them to the application's publisher. Being a domain event handler,
it is delivered through the outbox: a publisher that is down loses nothing, it is retried
with backoff, and a CloudEvent keeps its id across re-sends.
"""

from __future__ import annotations

from dataclasses import dataclass

from facta.application import DomainEventHandler, HandlerRegistry, Mediator
from facta.domain import DomainEvent
from facta.integration.cloudevents import build_cloudevent
from facta.integration.publishers import Publisher

__all__ = ["CloudEventBridge", "CloudEventSettings"]


@dataclass(frozen=True, slots=True)
class CloudEventSettings:
    """How this service publishes: ``dataschema_base`` + ``/<type>.json`` is each
    event's ``dataschema`` (where the contract's JSON schema is served), when set."""

    dataschema_base: str | None = None

    def dataschema(self, cloudevent_type: str) -> str | None:
        """The dataschema URI of a type, or None."""
        if not self.dataschema_base:
            return None
        return f"{self.dataschema_base.rstrip('/')}/{cloudevent_type}.json"


class CloudEventBridge(DomainEventHandler[DomainEvent]):
    """Publishes every domain event that has a contract, as versioned CloudEvents."""

    def __init__(
        self,
        registry: HandlerRegistry,
        publisher: Publisher,
        settings: CloudEventSettings,
        mediator: Mediator,
    ) -> None:
        self._registry = registry
        self._publisher = publisher
        self._settings = settings
        self._instrumentation = mediator.instrumentation

    @classmethod
    def applies_to(cls, event_type: type[DomainEvent], registry: HandlerRegistry) -> bool:
        """Only events with a contract are the bridge's business."""
        return bool(registry.contracts(event_type))

    async def handle(self, event: DomainEvent) -> None:
        events = []
        for contract_type in self._registry.contracts(type(event)):
            contract = contract_type()
            data = contract.map(event)
            dataschema = self._settings.dataschema(data.cloudevent_type)
            events.append(build_cloudevent(contract.source, data, event, dataschema))
        if events:
            with self._instrumentation.publishing(events, self._publisher) as traced:
                await self._publisher.publish(traced)
