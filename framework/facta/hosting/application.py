"""The application: one composition of handlers, container and services, and nothing global."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import injector

from facta.application import HandlerRegistry, Mediator, OperationContext, OperationScope
from facta.application.dependencies import resolver
from facta.domain.ids import random_uuid
from facta.hosting.services import BackgroundService
from facta.persistence import Outbox, UnitOfWork

if TYPE_CHECKING:
    from facta.integration.ingestion import Ingestor

__all__ = ["Application"]

T = TypeVar("T")

_make = tuple.__new__  # a NamedTuple from all its fields, without its Python-level __new__
_log = logging.getLogger("facta.application")


class Application:
    """A built facta application: its mediator, its DI container and its services.

    Everything it holds is its own: two applications in one process share no handlers,
    registries, stores or buses. Use it as an async context manager to start and stop
    its background services.
    """

    def __init__(
        self,
        container: injector.Injector,
        registry: HandlerRegistry,
        mediator: Mediator,
        services: Sequence[BackgroundService] = (),
    ) -> None:
        self._container = container
        self._registry = registry
        self._mediator = mediator
        self._scope = container.get(OperationScope)
        # what get() resolves, with the binding it was resolved with (see Constructor)
        self._bindings: dict[type, injector.Binding] = container.binder._bindings
        self._resolvers: dict[type, tuple[injector.Binding, Callable[[], Any]]] = {}
        self._services = tuple(services)
        self._started: list[BackgroundService] = []

    def use_services(self, services: Sequence[BackgroundService]) -> None:
        """Set the background services to start and stop (the builder does it)."""
        if self._started:
            raise RuntimeError("the services of a started application cannot change")
        self._services = tuple(services)

    @property
    def mediator(self) -> Mediator:
        """Sends commands and queries and publishes events."""
        return self._mediator

    @property
    def registry(self) -> HandlerRegistry:
        """The handlers and event types this application discovered."""
        return self._registry

    @property
    def container(self) -> injector.Injector:
        """The DI container; prefer constructor parameters on handlers to calling it."""
        return self._container

    @functools.cached_property
    def ingestor(self) -> Ingestor:
        """Receives CloudEvents from other services for this application's handlers."""
        from facta.integration.ingestion import Ingestor

        return Ingestor(
            self._registry,
            self._mediator,
            self._container.get(Outbox),  # type: ignore[type-abstract]
        )

    @property
    def outbox(self) -> Outbox:
        """The outbox of this application's back-end (for operators and tests)."""
        return self._container.get(Outbox)  # type: ignore[type-abstract]

    @property
    def services(self) -> tuple[BackgroundService, ...]:
        """The background services this application starts and stops."""
        return self._services

    def unit_of_work(self) -> UnitOfWork:
        """The unit of work of the current operation (open one with ``operation()``)."""
        return self._container.get(UnitOfWork)  # type: ignore[type-abstract]

    def get(self, interface: type[T]) -> T:
        """The application's instance of ``interface`` (singletons, outside operations)."""
        binding = self._bindings.get(interface)
        known = self._resolvers.get(interface)
        if known is not None and known[0] is binding:  # bound as when it was first resolved
            resolved: T = known[1]()
            return resolved
        instance = self._container.get(interface)
        binding = self._bindings.get(interface)
        if binding is not None:
            self._resolvers[interface] = (binding, resolver(self._container, interface))
        return instance

    def operation(self, name: str = "operation") -> AbstractAsyncContextManager[OperationContext]:
        """Open an operation scope by hand, e.g. to use a unit of work in a script or test.

        Nothing is committed for you: call ``commit()`` on the unit of work you used. An
        operation that ends with changes its unit of work never committed logs a warning
        naming the aggregates, since their changes are lost.
        """
        return _ManualOperation(self._scope, name)

    async def start(self) -> None:
        """Start the background services in the order they were added."""
        for service in self._services:
            await service.start()
            self._started.append(service)

    async def stop(self) -> None:
        """Stop the started background services, newest first."""
        while self._started:
            await self._started.pop().stop()

    async def __aenter__(self) -> Application:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


class _ManualOperation:
    """``Application.operation()``: an operation opened and closed by hand."""

    __slots__ = ("_name", "_scope", "_token")

    def __init__(self, scope: OperationScope, name: str) -> None:
        self._scope = scope
        self._name = name

    async def __aenter__(self) -> OperationContext:
        message_id = random_uuid()
        name = self._name
        context = _make(OperationContext, (name, message_id, message_id, None, (name,), "", False))
        self._token = self._scope.enter(context)
        return context

    async def __aexit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            if error_type is None:
                unit_of_work = self._scope.peek(UnitOfWork)  # type: ignore[type-abstract]
                if unit_of_work is not None and (lost := unit_of_work.uncommitted()):
                    _log.warning(
                        "operation %r ended without committing changes to %s: they are lost; "
                        "call `await unit_of_work.commit()` before the operation ends",
                        self._name,
                        ", ".join(f"{a.aggregate_type} {a.id!r}" for a in lost),
                    )
        finally:
            await self._scope.exit(self._token)
