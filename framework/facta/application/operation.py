"""The operation scope: one DI scope per command, query or event dispatch, on contextvars.

Every ``send``, ``query`` and event dispatch runs as an *operation*. Services bound in the
operation scope (the unit of work above all) are created once per operation and shared by
everything that asks for them in it, then closed when it ends. The current operation is
held in a ``ContextVar`` owned by the scope instance, so concurrent tasks never see each
other's operations and two applications in one process never share one.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from typing import Any, NamedTuple, Protocol, TypeVar, runtime_checkable
from uuid import UUID

import injector

from facta.errors import OutsideOperation

__all__ = ["AsyncClosable", "OperationContext", "OperationScope", "operation_scope"]

T = TypeVar("T")

_log = logging.getLogger("facta.operation")
_ABSENT = object()


class OperationContext(NamedTuple):
    """What is known about the message an operation handles (immutable).

    ``correlation_id`` is shared by every message of a chain (from the command that
    started it); ``causation_id`` is the id of the message that caused this one;
    ``chain`` names the messages from the first to this one, for diagnostics;
    ``handler`` names the handler class the operation runs (empty for a manual operation);
    ``durable`` is true when the event came from the outbox, or is an integration event
    from another service, so the handler's success (its receipt, keyed by
    ``message_id``) is recorded with its writes.
    """

    message: object
    message_id: UUID
    correlation_id: UUID
    causation_id: UUID | None
    chain: tuple[str, ...]
    handler: str = ""
    durable: bool = False

    @property
    def depth(self) -> int:
        """How many events lie between the first message of the chain and this one."""
        return len(self.chain) - 1


@runtime_checkable
class AsyncClosable(Protocol):
    """A service that must release resources when its operation ends."""

    async def aclose(self) -> None:
        """Release what the service holds (connections, sessions)."""


class _Operation(NamedTuple):
    """One operation: its context and the services created in it, in creation order."""

    context: OperationContext
    instances: dict[Any, object]


_make = tuple.__new__  # a NamedTuple from all its fields, without its Python-level __new__


class OperationScope(injector.Scope):
    """An injector scope whose instances live as long as the current operation."""

    _current: ContextVar[_Operation | None]

    def configure(self) -> None:
        self._current = ContextVar(f"facta.operation.{id(self)}", default=None)

    def get(self, key: type[T], provider: injector.Provider[T]) -> injector.Provider[T]:
        return injector.InstanceProvider(self.instance(key, provider))

    def instance(self, key: type[T], provider: injector.Provider[T]) -> T:
        """The current operation's instance of ``key``, made by ``provider`` on first use.

        What ``get(key, provider).get(injector)`` returns, without a provider in between:
        ``Constructor`` calls it to build handlers.
        """
        operation = self._current.get()
        if operation is None:
            raise OutsideOperation(key)
        instances = operation.instances
        instance = instances.get(key, _ABSENT)  # no KeyError: most keys are made once here
        if instance is _ABSENT:
            if key is OperationContext:
                return operation.context  # type: ignore[return-value]
            instance = instances[key] = provider.get(self.injector)
        return instance  # type: ignore[return-value]

    @property
    def context(self) -> OperationContext | None:
        """The context of the current operation, or None outside of one."""
        operation = self._current.get()
        return None if operation is None else operation.context

    def peek(self, key: type[T]) -> T | None:
        """The current operation's instance of ``key``, or None if none was made (nothing
        is created)."""
        operation = self._current.get()
        if operation is None:
            return None
        return operation.instances.get(key)  # type: ignore[return-value]

    def enter(self, context: OperationContext) -> Token[_Operation | None]:
        """Start an operation for ``context``; pair with ``exit`` in a ``finally``."""
        return self._current.set(_make(_Operation, (context, {})))

    async def exit(self, token: Token[_Operation | None]) -> None:
        """End the operation started by ``enter``, closing what it created, newest first.

        Every service is closed even when one of them fails to: each failure is logged,
        and the first is raised with the others noted on it (``__notes__``), so a failing
        service never leaves another's connection open.
        """
        operation = self._current.get()
        if operation is None or not operation.instances:  # nothing was made: nothing to close
            self._current.reset(token)
            return
        failures: list[tuple[object, BaseException]] = []
        try:
            for instance in reversed(operation.instances.values()):
                close = getattr(instance, "aclose", None)
                if close is None:
                    continue
                try:
                    await close()
                except BaseException as error:  # close the others, then report it
                    failures.append((instance, error))
        finally:
            self._current.reset(token)
        if failures:
            raise _closing_failed(failures)


def _closing_failed(failures: list[tuple[object, BaseException]]) -> BaseException:
    """The error to raise for services that failed to close: the first (a cancellation or
    interrupt first of all), with each failure logged and the others noted on it."""
    failures.sort(key=lambda failure: isinstance(failure[1], Exception))
    for service, error in failures:
        _log.error(
            "closing %s failed when its operation ended",
            type(service).__qualname__,
            exc_info=error,
        )
    first = failures[0][1]
    for service, other in failures[1:]:
        first.add_note(
            f"closing {type(service).__qualname__} also failed: {type(other).__name__}: {other}"
        )
    return first


operation_scope = injector.ScopeDecorator(OperationScope)
"""Bind a service with ``scope=operation_scope`` to get one instance per operation."""
