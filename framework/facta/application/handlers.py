"""The handler base classes users subclass, and how facta reads what they handle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args, get_origin

from facta.application.integration import EventContract, IntegrationEvent, IntegrationEventHandler
from facta.application.messages import Command, Query
from facta.domain import DomainEvent
from facta.errors import ConfigurationError

if TYPE_CHECKING:
    from facta.application.registry import HandlerRegistry

__all__ = [
    "CommandHandler",
    "DomainEventHandler",
    "QueryHandler",
    "declared_types",
    "handled_message_type",
    "handler_name",
]

C = TypeVar("C", bound=Command[Any])
Q = TypeVar("Q", bound=Query[Any])
E = TypeVar("E", bound=DomainEvent)
R = TypeVar("R")


class CommandHandler(ABC, Generic[C, R]):
    """Handles one command type: loads aggregates, calls their methods, returns R.

    Declare it for its command and result:
    ``class ConfirmOrderHandler(CommandHandler[ConfirmOrder, None])``.
    The command's unit of work is committed when ``handle`` returns and rolled back when
    it raises, so a handler needs no persistence boilerplate. Dependencies are declared
    as typed ``__init__`` parameters and are resolved for each operation.
    """

    @abstractmethod
    async def handle(self, command: C) -> R:
        """Carry out ``command`` and return its result."""


class QueryHandler(ABC, Generic[Q, R]):
    """Answers one query type from read models or repositories; changes nothing."""

    @abstractmethod
    async def handle(self, query: Q) -> R:
        """Answer ``query``."""


class DomainEventHandler(ABC, Generic[E]):
    """Reacts to a domain event after the transaction that recorded it committed.

    A handler declared for a base event class also receives its subclasses. Each handler
    runs in its own operation with its own unit of work, isolated from the others: one
    that fails does not stop the rest.
    """

    @classmethod
    def applies_to(cls, event_type: type[DomainEvent], registry: HandlerRegistry) -> bool:
        """Whether this handler wants events of ``event_type``; by default, all it is
        declared for. Override it to narrow a handler declared for a base class."""
        return True

    @abstractmethod
    async def handle(self, event: E) -> None:
        """React to ``event``."""


_BASES: tuple[type, ...] = (
    CommandHandler,
    QueryHandler,
    DomainEventHandler,
    IntegrationEventHandler,
    EventContract,
)
_EXPECTED: tuple[tuple[type, tuple[type, ...]], ...] = (
    (CommandHandler, (Command,)),
    (QueryHandler, (Query,)),
    (DomainEventHandler, (DomainEvent,)),
    (IntegrationEventHandler, (IntegrationEvent,)),
    (EventContract, (DomainEvent, IntegrationEvent)),
)


def handler_name(handler_type: type[object]) -> str:
    """The stable name of a handler class: its module and qualified name."""
    return f"{handler_type.__module__}.{handler_type.__qualname__}"


def handled_message_type(handler_type: type[object]) -> type[object]:
    """The message class a handler class was declared for, read from its generic bases.

    Type variables are followed through intermediate generic classes, so
    ``class Audited(CommandHandler[C, None])`` then ``class H(Audited[PlaceOrder])`` handles
    ``PlaceOrder``. Raises ``ConfigurationError`` when no concrete class is named, or when
    it is not the kind of message the handler base expects.
    """
    return declared_types(handler_type)[0]


def declared_types(declared: type[object]) -> tuple[type[object], ...]:
    """The concrete classes a handler or contract class gives its facta generic base.

    ``class C(EventContract[OrderPlaced, OrderPlacedV1])`` gives both classes.
    """
    found = _declared_arguments(declared, {})
    expected = next((kinds for base, kinds in _EXPECTED if issubclass(declared, base)), ())
    if found is None or len(found) < len(expected) or any(arg is Any for arg in found):
        raise ConfigurationError(
            f"{handler_name(declared)} does not say what it handles: declare it as "
            f"`class {declared.__name__}(CommandHandler[MyCommand, Result])` "
            f"(or QueryHandler[...], DomainEventHandler[...], IntegrationEventHandler[...], "
            f"EventContract[...]) with concrete classes"
        )
    for argument, kind in zip(found, expected, strict=False):
        if not issubclass(argument, kind):
            raise ConfigurationError(
                f"{handler_name(declared)} is declared for {argument.__qualname__}, which is "
                f"not a {kind.__name__}"
            )
    return found


def _concrete(argument: object) -> type[object] | None:
    if isinstance(argument, type):
        return argument
    origin = get_origin(argument)
    return origin if isinstance(origin, type) else None


def _declared_arguments(
    klass: type[object], bound: dict[object, object]
) -> tuple[type[object], ...] | None:
    for base in klass.__dict__.get("__orig_bases__", klass.__bases__):
        origin = get_origin(base) or base
        args = [bound.get(arg, arg) if isinstance(arg, TypeVar) else arg for arg in get_args(base)]
        if origin in _BASES:
            concrete = [_concrete(arg) for arg in args]
            if args and concrete[0] is not None:
                return tuple(arg for arg in concrete if arg is not None)
        elif isinstance(origin, type) and issubclass(origin, _BASES):
            parameters = getattr(origin, "__parameters__", ())
            found = _declared_arguments(origin, dict(zip(parameters, args, strict=False)))
            if found is not None:
                return found
    return None
