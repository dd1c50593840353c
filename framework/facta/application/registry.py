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
    handled_message_type,
    handler_name,
)
from facta.domain import DomainEvent
from facta.errors import ConfigurationError, DuplicateHandler, HandlerNotFound

__all__ = ["HandlerRegistry"]

AnyHandler = type[CommandHandler[Any, Any]] | type[QueryHandler[Any, Any]]
EventHandlerType = type[DomainEventHandler[Any]]


class HandlerRegistry:
    """The command, query and event handlers, and the event types, of one application."""

    def __init__(self) -> None:
        self._requests: dict[type[object], list[AnyHandler]] = {}
        self._event_handlers: dict[type[object], list[EventHandlerType]] = {}
        self._event_types: dict[str, type[DomainEvent]] = {}
        self._resolved: dict[type[DomainEvent], tuple[EventHandlerType, ...]] = {}
        self.generation = 0
        """Grows with every handler added, so caches of the registry know to refresh."""

    def add(self, handler_type: type[object]) -> None:
        """Register a handler class; registering the same class again changes nothing."""
        message_type = handled_message_type(handler_type)
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
                    elif issubclass(
                        member, CommandHandler | QueryHandler | DomainEventHandler
                    ) and not inspect.isabstract(member):
                        self.add(member)

    def validate(self) -> None:
        """Raise ``DuplicateHandler`` if any command or query has more than one handler."""
        for message_type, handlers in self._requests.items():
            if len(handlers) > 1:
                raise DuplicateHandler(message_type, handlers)

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
                if handler not in found:
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
