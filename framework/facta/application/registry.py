"""The handler registry: which handlers and event types one application knows.

A registry belongs to one application instance; nothing is registered at import time
or in module globals, so two applications in one process never see each other's handlers.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Any

from facta.application.handlers import (
    CommandHandler,
    DomainEventHandler,
    QueryHandler,
    check_handler,
    declared_types,
    handled_message_type,
    handler_name,
    is_misspelled_handler,
)
from facta.application.integration import (
    EventContract,
    IntegrationEvent,
    IntegrationEventHandler,
    Upcaster,
    type_version,
)
from facta.application.messages import Command, Query
from facta.application.projections import Lifecycle, Projection, ProjectionInfo, projection_info
from facta.application.upcasting import EventUpcaster
from facta.application.views import View
from facta.domain import DomainEvent, EventSourcedAggregate
from facta.errors import ConfigurationError, DuplicateHandler, HandlerNotFound

__all__ = ["HandlerRegistry"]

_DISCOVERED = (
    CommandHandler,
    QueryHandler,
    DomainEventHandler,
    IntegrationEventHandler,
    EventContract,
    Upcaster,
    Projection,
    EventUpcaster,
)

AnyHandler = type[CommandHandler[Any, Any]] | type[QueryHandler[Any, Any]]
EventHandlerType = type[DomainEventHandler[Any]] | type[Projection]
ContractType = type[EventContract[Any, Any]]


class HandlerRegistry:
    """The command, query and event handlers, and the event types, of one application."""

    def __init__(self) -> None:
        self._requests: dict[type[object], list[AnyHandler]] = {}
        self._event_handlers: dict[type[object], list[EventHandlerType]] = {}
        self._event_types: dict[str, type[DomainEvent]] = {}
        self._resolved: dict[type[DomainEvent], tuple[EventHandlerType, ...]] = {}
        self._integration_handlers: dict[str, list[type[IntegrationEventHandler[Any]]]] = {}
        self._integration_types: dict[str, type[IntegrationEvent]] = {}
        self._contracts: dict[type[DomainEvent], list[ContractType]] = {}
        self._resolved_contracts: dict[type[DomainEvent], tuple[ContractType, ...]] = {}
        self._upcasters: dict[str, type[Upcaster]] = {}
        self._scanned_requests: list[type[object]] = []
        self._projections: dict[str, ProjectionInfo] = {}
        self._view_owners: dict[type[View], str] = {}
        self._inline: dict[type[DomainEvent], list[type[Projection]]] = {}
        self._resolved_inline: dict[type[DomainEvent], tuple[type[Projection], ...]] = {}
        self._event_upcasters: dict[tuple[str, int], type[EventUpcaster]] = {}
        self._aggregates: dict[str, type[EventSourcedAggregate]] = {}
        self.generation = 0
        """Grows with every handler added, so caches of the registry know to refresh."""
        self.has_inline_projections = False
        """Whether any projection runs inline (in the unit of work that commits its events);
        read on every commit."""

    def add(self, handler_type: type[object]) -> None:
        """Register a handler, projection, contract or upcaster class, or an event-sourced
        aggregate; again, it changes nothing."""
        if issubclass(handler_type, Projection):
            self._add_projection(handler_type)
            return
        if issubclass(handler_type, EventUpcaster | EventSourcedAggregate):
            self._add_event_sourcing(handler_type)
            return
        if issubclass(handler_type, Upcaster):
            self._add_upcaster(handler_type)
            return
        if issubclass(handler_type, EventContract):
            self._add_contract(handler_type)
            return
        if issubclass(handler_type, IntegrationEventHandler):
            check_handler(handler_type)
            self._add_integration_handler(handler_type)
            return
        message_type = handled_message_type(handler_type)
        if issubclass(handler_type, DomainEventHandler | CommandHandler | QueryHandler):
            check_handler(handler_type)
        if issubclass(handler_type, DomainEventHandler):
            handlers: list[Any] = self._event_handlers.setdefault(message_type, [])
            self._resolved.clear()
            if issubclass(message_type, DomainEvent) and message_type is not DomainEvent:
                self.add_event_type(message_type)
        elif issubclass(handler_type, CommandHandler | QueryHandler):
            handlers = self._requests.setdefault(message_type, [])
        else:
            raise ConfigurationError(
                f"{handler_name(handler_type)} is not a CommandHandler, QueryHandler "
                f"or DomainEventHandler"
            )
        if handler_type not in handlers:
            handlers.append(handler_type)
            self.generation += 1

    def _add_projection(self, projection: type[Projection]) -> None:
        info = projection_info(projection)
        if self._projections.get(info.name) is info:
            return
        for view in info.views:
            owner = self._view_owners.setdefault(view, info.name)
            if owner != info.name:
                raise ConfigurationError(
                    f"{view.__qualname__} is kept by two projections, {owner} and "
                    f"{info.name}: a view has one projection, so that it can be rebuilt"
                )
        self._projections[info.name] = info
        for event_type, _ in info.methods:
            if event_type is not DomainEvent:
                self.add_event_type(event_type)
            if info.lifecycle is Lifecycle.INLINE:
                self._inline.setdefault(event_type, []).append(projection)
                self._resolved_inline.clear()
                self.has_inline_projections = True
            else:
                self._event_handlers.setdefault(event_type, []).append(projection)
                self._resolved.clear()
        self.generation += 1

    @property
    def projections(self) -> tuple[ProjectionInfo, ...]:
        """Every projection of the application, in registration order."""
        return tuple(self._projections.values())

    def projection(self, name: str) -> ProjectionInfo | None:
        """A projection by its handler name or its class name, or None."""
        found = self._projections.get(name)
        if found is not None:
            return found
        matches = [info for info in self._projections.values() if info.short_name == name]
        if len(matches) > 1:
            raise ConfigurationError(
                f"{len(matches)} projections are named {name!r}: give the full name "
                f"({', '.join(info.name for info in matches)})"
            )
        return matches[0] if matches else None

    def inline_projections(self, event_type: type[DomainEvent]) -> tuple[type[Projection], ...]:
        """The inline projections that apply an event type, in registration order."""
        try:
            return self._resolved_inline[event_type]
        except KeyError:
            pass
        found: list[type[Projection]] = []
        for klass in event_type.__mro__:
            for projection in self._inline.get(klass, ()):
                if projection not in found:
                    found.append(projection)
        resolved = self._resolved_inline[event_type] = tuple(found)
        return resolved

    def _add_integration_handler(self, handler_type: type[IntegrationEventHandler[Any]]) -> None:
        (contract,) = declared_types(handler_type)[:1]
        assert issubclass(contract, IntegrationEvent)
        self._add_integration_type(contract)
        handlers = self._integration_handlers.setdefault(contract.cloudevent_type, [])
        if handler_type not in handlers:
            handlers.append(handler_type)
            self.generation += 1

    def _add_integration_type(self, contract: type[IntegrationEvent]) -> None:
        if not contract.cloudevent_type:
            raise ConfigurationError(
                f"{handler_name(contract)} has no cloudevent_type: set it, e.g. "
                f"cloudevent_type: ClassVar[str] = 'com.example.order.placed.v1'"
            )
        known = self._integration_types.setdefault(contract.cloudevent_type, contract)
        if known is not contract:
            raise ConfigurationError(
                f"two contracts declare {contract.cloudevent_type!r}: {handler_name(known)} "
                f"and {handler_name(contract)}"
            )

    def _add_contract(self, contract_type: ContractType) -> None:
        event_type, data_type = declared_types(contract_type)[:2]
        assert issubclass(event_type, DomainEvent) and issubclass(data_type, IntegrationEvent)
        if not getattr(contract_type, "source", ""):
            raise ConfigurationError(
                f"{handler_name(contract_type)} has no source: set the CloudEvent source, "
                f"e.g. source = '/mariospizzeria/orders'"
            )
        self._add_integration_type(data_type)
        if event_type is not DomainEvent:
            self.add_event_type(event_type)
        contracts = self._contracts.setdefault(event_type, [])
        if contract_type not in contracts:
            contracts.append(contract_type)
            self._resolved_contracts.clear()
            self._resolved.clear()
            self.generation += 1

    def _add_upcaster(self, upcaster_type: type[Upcaster]) -> None:
        source_type = getattr(upcaster_type, "source_type", "")
        target = getattr(upcaster_type, "target", None)
        if not source_type or target is None:
            raise ConfigurationError(
                f"{handler_name(upcaster_type)} must set source_type (the old CloudEvent "
                f"type) and target (the newer IntegrationEvent class)"
            )
        type_version(source_type)
        self._add_integration_type(target)
        known = self._upcasters.setdefault(source_type, upcaster_type)
        if known is not upcaster_type:
            raise ConfigurationError(
                f"two upcasters read {source_type!r}: {handler_name(known)} and "
                f"{handler_name(upcaster_type)}"
            )

    def _add_event_sourcing(
        self, member: type[EventUpcaster] | type[EventSourcedAggregate]
    ) -> None:
        """Register a stored-event upcaster, or an event-sourced aggregate (its apply
        methods checked, its event types registered)."""
        if issubclass(member, EventUpcaster):
            key = member.key()
            known = self._event_upcasters.setdefault(key, member)
            if known is not member:
                raise ConfigurationError(
                    f"two upcasters read {key[0]!r} version {key[1]}: {handler_name(known)} "
                    f"and {handler_name(member)}"
                )
            return
        for event_type in member.appliers():
            self.add_event_type(event_type)
        known_aggregate = self._aggregates.setdefault(member.aggregate_type, member)
        if known_aggregate is not member:
            raise ConfigurationError(
                f"two event-sourced aggregates are named {member.aggregate_type!r}: "
                f"{handler_name(known_aggregate)} and {handler_name(member)}"
            )

    def event_upcaster(self, event_type: str, version: int) -> type[EventUpcaster] | None:
        """The upcaster that reads version ``version`` of a stored event type, if any."""
        return self._event_upcasters.get((event_type, version))

    @property
    def event_sourced_aggregates(self) -> dict[str, type[EventSourcedAggregate]]:
        """Each event-sourced aggregate this application knows, by its ``aggregate_type``."""
        return dict(self._aggregates)

    def contracts(self, event_type: type[DomainEvent]) -> tuple[ContractType, ...]:
        """The contracts that publish an event type (declared for it or a base class)."""
        try:
            return self._resolved_contracts[event_type]
        except KeyError:
            pass
        found: list[ContractType] = []
        for klass in event_type.__mro__:
            found.extend(c for c in self._contracts.get(klass, ()) if c not in found)
        resolved = self._resolved_contracts[event_type] = tuple(found)
        return resolved

    def integration_handlers(
        self, cloudevent_type: str
    ) -> tuple[type[IntegrationEventHandler[Any]], ...]:
        """The handlers of one CloudEvent type."""
        return tuple(self._integration_handlers.get(cloudevent_type, ()))

    def integration_type(self, cloudevent_type: str) -> type[IntegrationEvent] | None:
        """The contract class of a CloudEvent type, if this application knows it."""
        return self._integration_types.get(cloudevent_type)

    def upcaster(self, cloudevent_type: str) -> type[Upcaster] | None:
        """The upcaster that reads a CloudEvent type, if any."""
        return self._upcasters.get(cloudevent_type)

    @property
    def handled_cloudevent_types(self) -> tuple[str, ...]:
        """Every CloudEvent type this application accepts: handled, or upcast to one that is."""
        handled = set(self._integration_handlers)
        accepted = set(handled)
        for source_type in self._upcasters:
            current: str | None = source_type
            seen: set[str] = set()
            while current is not None and current not in seen:
                seen.add(current)
                if current in handled:
                    accepted.add(source_type)
                    break
                upcaster = self._upcasters.get(current)
                current = upcaster.target.cloudevent_type if upcaster else None
        return tuple(sorted(accepted))

    def add_event_type(self, event_type: type[DomainEvent]) -> None:
        """Register a domain event class under its ``event_type`` name."""
        known = self._event_types.setdefault(event_type.event_type, event_type)
        if known is not event_type:
            raise ConfigurationError(
                f"two event classes are named {event_type.event_type!r}: "
                f"{handler_name(known)} and {handler_name(event_type)}; give one of them "
                f"its own `event_type` class attribute"
            )

    def scan(self, *packages: str | ModuleType) -> None:
        """Import every module of each package and register the handlers and events in it.

        A class is registered by the module that defines it, so re-exports are not counted
        twice; abstract handler classes (shared bases) are skipped.
        """
        for package in packages:
            for module in _modules_of(package):
                for member in list(vars(module).values()):  # in definition order
                    if not isinstance(member, type) or member.__module__ != module.__name__:
                        continue
                    if issubclass(member, DomainEvent):
                        self.add_event_type(member)
                    elif issubclass(member, EventSourcedAggregate):
                        self.add(member)
                    elif issubclass(member, Command | Query):
                        if member not in self._scanned_requests:
                            self._scanned_requests.append(member)
                    elif issubclass(member, _DISCOVERED) and (
                        not inspect.isabstract(member) or is_misspelled_handler(member)
                    ):
                        self.add(member)  # a misspelled handler is reported, not skipped

    def validate(self) -> None:
        """Raise ``DuplicateHandler`` if any command or query has more than one handler."""
        for message_type, handlers in self._requests.items():
            if len(handlers) > 1:
                raise DuplicateHandler(message_type, handlers)

    @property
    def handler_types(self) -> tuple[type[object], ...]:
        """Every handler class the mediator and the ingestor build, each once."""
        groups: list[list[Any]] = [
            *self._requests.values(),
            *self._event_handlers.values(),
            *self._integration_handlers.values(),
        ]
        found: list[type[object]] = []
        for handlers in groups:
            found.extend(handler for handler in handlers if handler not in found)
        return tuple(found)

    @property
    def unhandled_requests(self) -> tuple[type[object], ...]:
        """The commands and queries a scan found that no handler handles (their shared
        base classes left out), in the order found."""
        return tuple(
            request
            for request in self._scanned_requests
            if request not in self._requests
            and not any(
                other is not request and issubclass(other, request)
                for other in self._scanned_requests
            )
        )

    def request_handler(self, message_type: type[object]) -> AnyHandler:
        """The one handler of a command or query type."""
        handlers = self._requests.get(message_type)
        if not handlers:
            raise HandlerNotFound(message_type)
        if len(handlers) > 1:
            raise DuplicateHandler(message_type, handlers)
        return handlers[0]

    def event_handlers(self, event_type: type[DomainEvent]) -> tuple[EventHandlerType, ...]:
        """Every handler of an event type, including those declared for its base classes.

        Handlers of the most specific class come first, each in registration order.
        """
        try:
            return self._resolved[event_type]
        except KeyError:
            pass
        found: list[EventHandlerType] = []
        for klass in event_type.__mro__:
            for handler in self._event_handlers.get(klass, ()):
                if handler not in found and handler.applies_to(event_type, self):
                    found.append(handler)
        resolved = self._resolved[event_type] = tuple(found)
        return resolved

    def event_type(self, name: str) -> type[DomainEvent]:
        """The event class registered under ``name``."""
        try:
            return self._event_types[name]
        except KeyError:
            raise ConfigurationError(
                f"no domain event type is named {name!r}: scan the package that defines it"
            ) from None

    @property
    def request_types(self) -> dict[type[object], tuple[AnyHandler, ...]]:
        """Each command and query type with its handlers."""
        return {key: tuple(value) for key, value in self._requests.items()}

    @property
    def event_types(self) -> dict[str, type[DomainEvent]]:
        """Each registered event type by name."""
        return dict(self._event_types)


def _modules_of(package: str | ModuleType) -> Iterator[ModuleType]:
    module = importlib.import_module(package) if isinstance(package, str) else package
    yield module
    path: Iterable[str] | None = getattr(module, "__path__", None)
    if path is None:
        return
    for info in pkgutil.walk_packages(path, prefix=f"{module.__name__}."):
        yield importlib.import_module(info.name)
