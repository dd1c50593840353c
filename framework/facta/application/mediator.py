"""The mediator: sends commands and queries to their handler and events to theirs.

Each message is handled in its own operation (DI scope) through the pipeline of its kind.
What can be worked out once per handler class (its name, its constructor's dependencies)
is worked out on first use and cached, so the per-message path does no introspection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast
from uuid import UUID

import injector

from facta.application.conflicts import ConflictRetry
from facta.application.dependencies import Constructor
from facta.application.instrumentation import Instrumentation
from facta.application.integration import Envelope, IntegrationEvent, IntegrationEventHandler
from facta.application.messages import Command, Query
from facta.application.operation import OperationContext, OperationScope
from facta.application.pipeline import MessageKind, PipelineBehavior, Pipelines, run_pipeline
from facta.application.registry import HandlerRegistry
from facta.domain import DomainEvent
from facta.domain.ids import random_uuid
from facta.errors import AlreadyDelivered, ConfigurationError, EventHandlingError, HandlerFailure

__all__ = ["DispatchReport", "Mediator"]

R = TypeVar("R")
_Route = tuple[Constructor[Any], ConflictRetry | None]
"""The handler of a command or query type, and its conflict policy."""

_log = logging.getLogger("facta.mediator")
_NO_INSTRUMENTATION = Instrumentation()  # stateless: every hook does nothing
# read on every message: as globals, since Python 3.11 reads Enum class attributes slowly
_COMMAND, _QUERY = MessageKind.COMMAND, MessageKind.QUERY


@dataclass(frozen=True, slots=True)
class DispatchReport:
    """What happened when one event was dispatched: who handled it, who failed."""

    event: DomainEvent
    succeeded: tuple[str, ...]
    failures: tuple[HandlerFailure, ...]

    @property
    def ok(self) -> bool:
        """True when no handler failed."""
        return not self.failures

    def raise_for_failures(self) -> None:
        """Raise ``EventHandlingError`` naming every failed handler, if any failed."""
        if self.failures:
            raise EventHandlingError(self.event.event_type, str(self.event.event_id), self.failures)


class Mediator:
    """Routes messages to handlers, each in its own operation, through the pipelines.

    ``send`` and ``query`` go to exactly one handler; ``publish`` goes to every handler of
    the event, each isolated from the others.
    """

    def __init__(
        self,
        container: injector.Injector,
        registry: HandlerRegistry,
        scope: OperationScope,
        pipelines: Pipelines,
        instrumentation: Instrumentation | None = None,
        conflict_retry: Callable[[type[Any]], ConflictRetry | None] | None = None,
    ) -> None:
        self._container = container
        self._instrumentation = instrumentation
        self._registry = registry
        self._scope = scope
        self._pipelines = pipelines
        self._conflict_retry = conflict_retry or _class_policy
        self._factories: dict[type[Any], Constructor[Any]] = {}
        # by message type, one dict per kind (an enum in a key is hashed in Python)
        self._command_routes: dict[type[Any], _Route] = {}
        self._query_routes: dict[type[Any], _Route] = {}
        self._generation = registry.generation

    @property
    def registry(self) -> HandlerRegistry:
        """The handlers this mediator routes to."""
        return self._registry

    @property
    def instrumentation(self) -> Instrumentation:
        """The application's telemetry hooks (ones that do nothing when none was given)."""
        return self._instrumentation or _NO_INSTRUMENTATION

    async def send(self, command: Command[R]) -> R:
        """Have the one handler of ``command`` carry it out, and return its result."""
        factory, policy = self._route(command, _COMMAND)
        behaviors = self._pipelines.commands
        message_id = random_uuid()
        if policy is None:
            return cast(R, await self._attempt(command, behaviors, factory, message_id))
        return cast(
            R,
            await policy.run(
                lambda: self._attempt(command, behaviors, factory, message_id),
                type(command).__name__,
            ),
        )

    async def query(self, query: Query[R]) -> R:
        """Have the one handler of ``query`` answer it."""
        factory, _ = self._route(query, _QUERY)
        return cast(R, await self._attempt(query, self._pipelines.queries, factory, random_uuid()))

    async def publish(self, event: DomainEvent) -> None:
        """Run every handler of ``event``, then raise if any of them failed.

        Each handler runs in its own operation; one that fails does not stop the others.
        The failures are raised together as ``EventHandlingError``.
        """
        (await self.dispatch(event)).raise_for_failures()

    async def dispatch(
        self, event: DomainEvent, only: Collection[str] | None = None, *, durable: bool = False
    ) -> DispatchReport:
        """Run the handlers of ``event`` (or those named in ``only``) and report each outcome.

        Unlike ``publish`` this never raises for a failed handler: failures are logged at
        ERROR and returned, for callers that record them. ``durable`` is for events from
        the outbox: each handler's success is then recorded with its writes.
        """
        if self._instrumentation is None:
            return await self._dispatch(event, only, durable)
        with self._instrumentation.dispatching(event):
            return await self._dispatch(event, only, durable)

    async def _dispatch(
        self, event: DomainEvent, only: Collection[str] | None, durable: bool
    ) -> DispatchReport:
        parent = self._scope.context
        correlation_id = event.correlation_id or (
            parent.correlation_id if parent is not None else event.event_id
        )
        chain = (*parent.chain, event.event_type) if parent is not None else (event.event_type,)
        handlers = self._registry.event_handlers(type(event))
        if not handlers:
            return DispatchReport(event, (), ())
        behaviors = self._pipelines.events
        succeeded: list[str] = []
        failures: list[HandlerFailure] = []
        for handler_type in handlers:
            factory = self._factory(handler_type)
            if only is not None and factory.name not in only:
                continue
            context = OperationContext(
                message=event,
                message_id=event.event_id,
                correlation_id=correlation_id,
                causation_id=event.causation_id,
                chain=chain,
                handler=factory.name,
                durable=durable,
            )
            token = self._scope.enter(context)
            try:
                handler = factory.create()
                await run_pipeline(behaviors, event, context, partial(handler.handle, event))
            except AlreadyDelivered as error:
                # another run (a relay worker whose lease ran out) already did it: settled
                failures.append(HandlerFailure(factory.name, error))
                _log.debug(
                    "%s already handled %s %s", factory.name, event.event_type, event.event_id
                )
            except Exception as error:
                failures.append(HandlerFailure(factory.name, error))
                _log.error(
                    "handler %s failed on %s %s",
                    factory.name,
                    event.event_type,
                    event.event_id,
                    exc_info=error,
                )
            else:
                succeeded.append(factory.name)
            finally:
                await self._scope.exit(token)
        return DispatchReport(event, tuple(succeeded), tuple(failures))

    async def handle_integration_event(
        self,
        handler_type: type[IntegrationEventHandler[Any]],
        data: IntegrationEvent,
        envelope: Envelope,
        *,
        inbox_key: UUID,
    ) -> None:
        """Run one integration event handler on ``data``, in its own operation, through the
        integration event pipeline (``MessageKind.INTEGRATION_EVENT``).

        The transaction behavior commits the handler's writes with its inbox receipt
        (``inbox_key``, derived from the CloudEvent's ``source`` and ``id``): a second run
        for the same event raises ``AlreadyDelivered`` and commits nothing.
        """
        factory = self._factory(handler_type)
        correlation_id = _uuid(envelope.correlation_id) or inbox_key
        context = OperationContext(
            message=data,
            message_id=inbox_key,
            correlation_id=correlation_id,
            causation_id=None,
            chain=(envelope.type,),
            handler=factory.name,
            durable=True,
        )
        token = self._scope.enter(context)
        try:
            handler = factory.create()

            def call() -> Any:
                return handler.handle(data, envelope)

            await run_pipeline(self._pipelines.integration_events, data, context, call)
        finally:
            await self._scope.exit(token)

    def handler_names(self, event_type: type[DomainEvent]) -> tuple[str, ...]:
        """The names of every handler ``dispatch`` runs for an event type."""
        return tuple(
            self._factory(handler).name for handler in self._registry.event_handlers(event_type)
        )

    def _route(self, message: Command[Any] | Query[Any], kind: MessageKind) -> _Route:
        """The handler of ``message`` and the conflict policy of its type (cached)."""
        message_type = type(message)
        if self._generation != self._registry.generation:
            self._command_routes.clear()
            self._query_routes.clear()
            self._generation = self._registry.generation
        routes = self._command_routes if kind is _COMMAND else self._query_routes
        known = routes.get(message_type)
        if known is None:  # first of its type and kind: check it once, then cache
            expected = Command if kind is MessageKind.COMMAND else Query
            if not isinstance(message, expected):
                raise ConfigurationError(
                    f"{message_type.__qualname__} is not a {expected.__name__}: use "
                    f"{'query' if expected is Command else 'send'}() for it"
                )
            factory = self._factory(self._registry.request_handler(message_type))
            policy = self._conflict_retry(message_type) if kind is MessageKind.COMMAND else None
            known = routes[message_type] = (factory, policy)
        return known

    async def _attempt(
        self,
        message: Command[Any] | Query[Any],
        behaviors: tuple[PipelineBehavior, ...],
        factory: Constructor[Any],
        message_id: UUID,
    ) -> Any:
        """Handle ``message`` once, in an operation of its own."""
        name = type(message).__name__
        scope = self._scope
        parent = scope.context
        if parent is None:
            context = OperationContext(message, message_id, message_id, None, (name,), factory.name)
        else:
            context = OperationContext(
                message,
                message_id,
                parent.correlation_id,
                parent.message_id,
                (*parent.chain, name),
                factory.name,
            )
        token = scope.enter(context)
        try:
            handler = factory.create()
            return await run_pipeline(behaviors, message, context, partial(handler.handle, message))
        finally:
            await scope.exit(token)

    def _factory(self, handler_type: type[Any]) -> Constructor[Any]:
        factory = self._factories.get(handler_type)
        if factory is None:
            factory = self._factories[handler_type] = Constructor.of(handler_type, self._container)
        return factory


def _class_policy(message_type: type[Any]) -> ConflictRetry | None:
    policy: ConflictRetry | None = getattr(message_type, "retry_on_conflict", None)
    return policy


def _uuid(value: str | None) -> UUID | None:
    if value is None:
        return None
    try:
        return UUID(value)
    except ValueError:
        return None
