"""The handler base classes users subclass, and how facta reads what they handle."""

from __future__ import annotations

import difflib
import inspect
import types
import typing
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
    "check_handler",
    "declared_types",
    "handled_message_type",
    "handler_name",
    "is_misspelled_handler",
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


def check_handler(handler_type: type[object]) -> None:
    """Raise ``ConfigurationError`` when a handler class cannot handle what it declares.

    Checked once, when the application is built, so that a mistake is reported before the
    first message instead of at it: ``handle`` missing (abstract, or misspelled), not
    ``async``, or taking a message type that disagrees with the declared one.
    """
    name = handler_name(handler_type)
    declared = declared_types(handler_type)[0]
    if inspect.isabstract(handler_type):
        missing = ", ".join(sorted(getattr(handler_type, "__abstractmethods__", ())))
        raise ConfigurationError(
            f"{name} does not implement {missing}{_near_miss(handler_type)}: define "
            f"`async def handle(self, message: {declared.__qualname__}) -> ...` on it"
        )
    handle = getattr(handler_type, "handle", None)
    if not inspect.iscoroutinefunction(handle):
        raise ConfigurationError(
            f"{name}.handle is not a coroutine function: declare it with `async def handle`"
        )
    parameters = list(inspect.signature(handle).parameters.values())[1:]
    if not parameters:
        raise ConfigurationError(
            f"{name}.handle takes no message: declare it as "
            f"`async def handle(self, message: {declared.__qualname__})`"
        )
    try:
        annotation = typing.get_type_hints(handle).get(parameters[0].name)
    except Exception:  # a name only the type checker resolves: nothing to compare
        return
    if annotation is None or _accepts(annotation, declared):
        return
    shown = getattr(annotation, "__qualname__", repr(annotation))
    raise ConfigurationError(
        f"{name} is declared for {declared.__qualname__} but its handle() takes {shown}: "
        f"make them agree, e.g. `async def handle(self, {parameters[0].name}: "
        f"{declared.__qualname__})`, or declare the class for {shown}"
    )


def is_misspelled_handler(klass: type[object]) -> bool:
    """Whether an abstract class found by a scan is a handler whose ``handle`` is missing,
    rather than a shared base: it names concrete message types, ``handle`` is all it
    lacks, and nothing subclasses it."""
    if not inspect.isabstract(klass) or klass.__subclasses__():
        return False
    if set(getattr(klass, "__abstractmethods__", ())) != {"handle"}:
        return False
    try:
        declared_types(klass)
    except ConfigurationError:
        return False
    return True


def _accepts(annotation: object, declared: type[object]) -> bool:
    """Whether a ``handle`` parameter annotated ``annotation`` accepts ``declared``."""
    if annotation is Any or annotation is object or isinstance(annotation, TypeVar):
        return True
    if isinstance(annotation, types.UnionType) or get_origin(annotation) is typing.Union:
        return any(_accepts(member, declared) for member in get_args(annotation))
    concrete = _concrete(annotation)
    return concrete is not None and issubclass(declared, concrete)


def _near_miss(handler_type: type[object]) -> str:
    """A hint naming a method of the class that looks like a misspelled ``handle``."""
    own = [
        member
        for member, value in vars(handler_type).items()
        if callable(value) and not member.startswith("__")
    ]
    close = difflib.get_close_matches("handle", own, n=1, cutoff=0.6)
    if close:
        return f" (it defines {close[0]}(): rename it to handle)"
    return ""
