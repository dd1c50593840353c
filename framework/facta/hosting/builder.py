"""The application builder: the one place where an application is composed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, Self

import injector

from facta.application import (
    Command,
    ConflictRetry,
    HandlerRegistry,
    LoggingBehavior,
    Mediator,
    MessageKind,
    OperationContext,
    OperationScope,
    PipelineBehavior,
    Pipelines,
    ValidationBehavior,
)
from facta.application.dependencies import Constructor, FactoryProvider, check_dependencies
from facta.application.instrumentation import Instrumentation
from facta.application.ports.projection_store import ProjectionStore
from facta.application.projection_order import ProjectionOrderBehavior
from facta.application.projections import Lifecycle
from facta.application.receipts import DeferredReceipts
from facta.errors import ConfigurationError, OutsideOperation
from facta.hosting.application import Application
from facta.hosting.services import BackgroundService, ProvidesServices
from facta.integration.publishers import Publisher
from facta.integration.relay import OutboxRelay
from facta.persistence import (
    DeliverySettings,
    EventFlow,
    InMemoryPersistence,
    Outbox,
    TransactionBehavior,
)

__all__ = ["ApplicationBuilder"]

ModuleLike = injector.Module | Callable[[injector.Binder], None]
BehaviorSpec = PipelineBehavior | type[PipelineBehavior]
ServiceSpec = (
    type[BackgroundService] | BackgroundService | Callable[[Application], BackgroundService]
)
DEFAULT_MAX_EVENT_DEPTH = 16

_log = logging.getLogger("facta.builder")


class ApplicationBuilder:
    """Collects what an application is made of, then ``build()``s it.

    The pipelines are, outermost first:

    - commands: logging, validation, *your behaviors*, transaction;
    - queries: logging, validation, *your behaviors*;
    - events: logging, *your behaviors*, transaction;
    - integration events (CloudEvents from other services): logging, validation, *your
      behaviors*, transaction (which commits the handler's inbox receipt with its writes).

    Your behaviors run in the order you add them; an ``instrument``-ed application's
    telemetry behavior runs outside all of them.
    """

    def __init__(self) -> None:
        self._packages: list[str | ModuleType] = []
        self._handlers: list[type[object]] = []
        self._modules: list[ModuleLike] = []
        self._persistence: ModuleLike = InMemoryPersistence()
        self._behaviors: list[tuple[BehaviorSpec, frozenset[MessageKind]]] = []
        self._services: list[ServiceSpec] = []
        self._max_event_depth = DEFAULT_MAX_EVENT_DEPTH
        self._delivery = DeliverySettings()
        self._publisher: Publisher | None = None
        self._dataschema_base: str | None = None
        self._conflict_retry: ConflictRetry | None = None
        self._conflict_retries: dict[type[Command[Any]], ConflictRetry] = {}
        self._instrumentation: Instrumentation | None = None

    def scan(self, *packages: str | ModuleType) -> Self:
        """Discover the handlers and domain events of these packages (and their modules)."""
        self._packages.extend(packages)
        return self

    def add_handler(self, *handler_types: type[object]) -> Self:
        """Register handler classes directly, without scanning."""
        self._handlers.extend(handler_types)
        return self

    def add_module(self, *modules: ModuleLike) -> Self:
        """Add injector modules (or ``configure(binder)`` functions) with your bindings."""
        self._modules.extend(modules)
        return self

    def use_persistence(self, module: ModuleLike) -> Self:
        """Choose the persistence back-end; the in-memory one is the default."""
        self._persistence = module
        return self

    def use_behavior(self, behavior: BehaviorSpec, *, on: Iterable[MessageKind]) -> Self:
        """Add a pipeline behavior for the given message kinds, inside the built-in ones.

        A class is built by the container (typed ``__init__`` parameters are injected).
        """
        self._behaviors.append((behavior, frozenset(on)))
        return self

    def add_service(
        self,
        service: type[BackgroundService]
        | BackgroundService
        | Callable[[Application], BackgroundService],
    ) -> Self:
        """Run a background service with the application, started in the order added.

        Give a class (built by the container, its typed ``__init__`` parameters injected;
        ``app.get(ServiceClass)`` then returns that instance), an instance, or a function
        of the built application (``lambda app: AmqpConsumer(app, url, queue=...)``).
        """
        self._services.append(service)
        return self

    def max_event_depth(self, depth: int) -> Self:
        """How many messages (events and the commands they send) may follow the first one
        of a chain before the chain is stopped with ``EventStormError``."""
        if depth < 1:
            raise ValueError("max_event_depth must be at least 1")
        self._max_event_depth = depth
        return self

    def publish_cloudevents(
        self, publisher: Publisher, *, dataschema_base: str | None = None
    ) -> Self:
        """Publish the domain events that have contracts as CloudEvents through ``publisher``.

        The CloudEvents bridge becomes one of the application's domain event handlers, so
        publishing goes through the outbox: retried with backoff, dead-lettered when
        refused, never lost. A publisher that is also a ``BackgroundService`` (one that
        holds a connection) is started and stopped with the application.
        """
        self._publisher = publisher
        self._dataschema_base = dataschema_base
        return self

    def instrument(self, instrumentation: Instrumentation) -> Self:
        """Observe the application with ``instrumentation`` (spans, metrics), e.g.
        ``facta.observability.OpenTelemetry()``; one instance per application.

        Its behavior runs outermost in every pipeline; if it provides services (a monitor
        of the outbox, say) they start after the others and stop before them.
        """
        self._instrumentation = instrumentation
        return self

    def delivery(self, settings: DeliverySettings) -> Self:
        """How committed events reach their handlers: grace period, retries, relay batches."""
        self._delivery = settings
        return self

    def retry_conflicts(
        self, policy: ConflictRetry | None = None, *commands: type[Command[Any]]
    ) -> Self:
        """Run a command that lost a race (``ConcurrencyError``) again, whole, by ``policy``.

        For the given command classes, or for every command when none is given; a
        command class's own ``retry_on_conflict`` wins over both. Without a policy the
        default ``ConflictRetry()`` is used.
        """
        policy = policy if policy is not None else ConflictRetry()
        if not commands:
            self._conflict_retry = policy
        for command in commands:
            self._conflict_retries[command] = policy
        return self

    def _conflict_policy(self, command: type[Any]) -> ConflictRetry | None:
        own: ConflictRetry | None = getattr(command, "retry_on_conflict", None)
        if own is not None:
            return own
        return self._conflict_retries.get(command, self._conflict_retry)

    def build(self) -> Application:
        """Compose the application: discover handlers, wire the container, build pipelines."""
        registry = HandlerRegistry()
        registry.scan(*self._packages)
        for handler in self._handlers:
            registry.add(handler)
        publisher = self._publisher
        if publisher is not None:
            from facta.integration.bridge import CloudEventBridge, CloudEventSettings

            registry.add(CloudEventBridge)
        registry.validate()
        unhandled = registry.unhandled_requests
        if unhandled:
            _log.warning(
                "no handler for %s: define a CommandHandler/QueryHandler for each in a "
                "scanned package, or add it with add_handler(); sending one raises "
                "HandlerNotFound",
                ", ".join(f"{t.__module__}.{t.__qualname__}" for t in unhandled),
            )

        def configure(binder: injector.Binder) -> None:
            binder.bind(HandlerRegistry, to=registry)
            if publisher is not None:
                binder.bind(Publisher, to=publisher)  # type: ignore[type-abstract]
                binder.bind(CloudEventSettings, to=CloudEventSettings(self._dataschema_base))

            # entering an operation puts its context in the scope; this binding routes to it
            binder.bind(OperationContext, to=FactoryProvider(_no_context), scope=OperationScope)
            # the relay's batch of receipts of handlers that wrote nothing (one per application)
            binder.bind(DeferredReceipts, to=DeferredReceipts())

        container = injector.Injector(
            [configure, self._persistence, *self._modules], auto_bind=True
        )
        scope = container.get(OperationScope)
        instrumentation = self._instrumentation
        mediator = Mediator(
            container,
            registry,
            scope,
            self._pipelines(container, scope, registry),
            instrumentation,
            conflict_retry=self._conflict_policy,
        )
        container.binder.bind(Mediator, to=mediator)
        container.binder.bind(DeliverySettings, to=self._delivery)
        outbox: Outbox = container.get(Outbox)  # type: ignore[type-abstract]
        container.binder.bind(
            EventFlow,
            to=EventFlow(mediator, scope, outbox, self._delivery, self._max_event_depth),
        )
        delivery = self._delivery
        deferred = container.get(DeferredReceipts)
        container.binder.bind(  # app.get(OutboxRelay) works whether or not it is a service
            OutboxRelay,
            to=FactoryProvider(lambda _: OutboxRelay(outbox, mediator, delivery, deferred)),
            scope=injector.SingletonScope,
        )
        check_dependencies(
            (
                *registry.handler_types,
                *(spec for spec in self._services if isinstance(spec, type)),
            ),
            container,
        )
        services: list[BackgroundService] = []
        for module in (self._persistence, *self._modules):
            if isinstance(module, ProvidesServices):
                services.extend(module.services(container))
        if isinstance(publisher, BackgroundService):
            services.append(publisher)
        application = Application(container, registry, mediator)
        for spec in self._services:
            if isinstance(spec, type):
                built: BackgroundService = Constructor.of(spec, container).create()
                container.binder.bind(spec, to=built)  # app.get() finds this instance
                services.append(built)
            elif isinstance(spec, BackgroundService):
                services.append(spec)
            else:
                services.append(spec(application))
        if isinstance(instrumentation, ProvidesServices):  # last: after tables are made
            services.extend(instrumentation.services(container))
        application.use_services(services)
        return application

    def _pipelines(
        self, container: injector.Injector, scope: OperationScope, registry: HandlerRegistry
    ) -> Pipelines:
        logging_behavior = LoggingBehavior()
        validation = ValidationBehavior()
        transaction = TransactionBehavior(scope, container.get(DeferredReceipts))
        ordering: tuple[PipelineBehavior, ...] = ()
        if any(info.lifecycle is Lifecycle.ASYNC for info in registry.projections):
            ordering = (ProjectionOrderBehavior(registry, _projection_store(container)),)
        custom: dict[MessageKind, list[PipelineBehavior]] = {kind: [] for kind in MessageKind}
        for spec, kinds in self._behaviors:
            behavior = (
                spec
                if isinstance(spec, PipelineBehavior)
                else Constructor.of(spec, container).create()
            )
            for kind in kinds:
                custom[kind].append(behavior)
        observe = self._observing
        return Pipelines(
            commands=(
                *observe(MessageKind.COMMAND),
                logging_behavior,
                validation,
                *custom[MessageKind.COMMAND],
                transaction,
            ),
            queries=(
                *observe(MessageKind.QUERY),
                logging_behavior,
                validation,
                *custom[MessageKind.QUERY],
            ),
            events=(
                *observe(MessageKind.EVENT),
                logging_behavior,
                *custom[MessageKind.EVENT],
                *ordering,
                transaction,
            ),
            integration_events=(
                *observe(MessageKind.INTEGRATION_EVENT),
                logging_behavior,
                validation,
                *custom[MessageKind.INTEGRATION_EVENT],
                transaction,
            ),
        )

    def _observing(self, kind: MessageKind) -> tuple[PipelineBehavior, ...]:
        behavior = None if self._instrumentation is None else self._instrumentation.behavior(kind)
        return () if behavior is None else (behavior,)


def _projection_store(container: injector.Injector) -> ProjectionStore:
    binding = container.binder._bindings.get(ProjectionStore)
    if binding is None:
        raise ConfigurationError(
            "the application has asynchronous projections, but its persistence back-end "
            "binds no ProjectionStore: use the in-memory, SQLAlchemy or MongoDB back-end, "
            "or bind one in your persistence module"
        )
    store: ProjectionStore = container.get(ProjectionStore)  # type: ignore[type-abstract]
    return store


def _no_context(container: injector.Injector) -> OperationContext:
    raise OutsideOperation(OperationContext)
