"""The handler base classes users subclass, and how facta reads what they handle."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar, get_args, get_origin

from facta.application.messages import Command, Query
from facta.domain import DomainEvent
from facta.errors import ConfigurationError

__all__ = [
    "CommandHandler",
    "DomainEventHandler",
    "QueryHandler",
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

    @abstractmethod
    async def handle(self, event: E) -> None:
        """React to ``event``."""


_HANDLER_BASES: tuple[type, ...] = (CommandHandler, QueryHandler, DomainEventHandler)
_EXPECTED_MESSAGES: tuple[tuple[type, type], ...] = (
    (CommandHandler, Command),
    (QueryHandler, Query),
    (DomainEventHandler, DomainEvent),
)


def handler_name(handler_type: type[object]) -> str:
    """The stable name of a handler class: its module and qualified name."""
    return f"{handler_type.__module__}.{handler_type.__qualname__}"


def handled_message_type(handler_type: type[object]) -> type[object]:
    """The message class a handler class was declared for, read from its generic bases.

    Type variables are followed through intermediate generic classes, so
    ``class Audited(CommandHandler[C, None])`` then ``class H(Audited[PlaceOrder])`` handles
    ``PlaceOrder``. Raises ``ConfigurationError`` when no concrete class is named.
    """
    found = _declared_message(handler_type, {})
    if found is not None and found is not Any:
        expected = next(
            (kind for base, kind in _EXPECTED_MESSAGES if issubclass(handler_type, base)),
            None,
        )
        if expected is not None and not issubclass(found, expected):
            raise ConfigurationError(
                f"{handler_name(handler_type)} is declared for {found.__qualname__}, which is "
                f"not a {expected.__name__}: a handler's first type argument must be one"
            )
    if found is None or found is Any:
        raise ConfigurationError(
            f"{handler_name(handler_type)} does not say what it handles: declare it as "
            f"`class {handler_type.__name__}(CommandHandler[MyCommand, Result])` "
            f"(or QueryHandler[...] / DomainEventHandler[...]) with a concrete message class"
        )
    return found


def _declared_message(klass: type[object], bound: dict[object, object]) -> type[object] | None:
    for base in klass.__dict__.get("__orig_bases__", klass.__bases__):
        origin = get_origin(base) or base
        args = [bound.get(arg, arg) if isinstance(arg, TypeVar) else arg for arg in get_args(base)]
        if origin in _HANDLER_BASES:
            message = args[0] if args else None
            if isinstance(message, type):
                return message
            message_origin = get_origin(message)
            if isinstance(message_origin, type):
                return message_origin
        elif isinstance(origin, type) and issubclass(origin, _HANDLER_BASES):
            parameters = getattr(origin, "__parameters__", ())
            found = _declared_message(origin, dict(zip(parameters, args, strict=False)))
            if found is not None:
                return found
    return None
