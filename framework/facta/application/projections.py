"""Projections: classes that keep views up to date from domain events.

Subclass ``Projection``, list the ``views`` it keeps, and write one ``async`` method per
event type, its parameter annotated with the event class (a base class covers its
subclasses; the most specific method wins)::

    class OrderSummaries(Projection):
        views = (OrderSummary,)

        def __init__(self, uow: UnitOfWork) -> None:
            self.summaries = uow.views(OrderSummary)

        async def placed(self, event: OrderPlaced) -> None:
            self.summaries.put(OrderSummary(id=event.aggregate_id, status="pending"))

The methods are found from their annotations when the application is built, and every
mistake (a public method that takes no event, two methods for one event, no views) is
reported then. A projection is ``Lifecycle.ASYNC`` by default: it runs after the commit,
through the outbox, each event exactly once and each aggregate's events in version order.
``Lifecycle.INLINE`` runs it inside the unit of work that records the events, so its views
commit atomically with the aggregates.
"""

from __future__ import annotations

import enum
import inspect
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from facta.application.handlers import handler_name
from facta.application.views import View
from facta.domain import DomainEvent
from facta.errors import ConfigurationError

__all__ = ["Lifecycle", "Projection", "ProjectionInfo", "projection_info"]


class Lifecycle(enum.Enum):
    """When a projection applies events.

    ``INLINE``: in the unit of work that commits them (its views commit atomically with
    the aggregates; a failure fails the command). ``ASYNC``: after the commit, through
    the outbox (retried with backoff, then dead-lettered, without holding back others).
    """

    INLINE = "inline"
    ASYNC = "async"


class Projection:
    """Keeps one or more views from the events of one or several aggregates.

    Dependencies are injected through a typed ``__init__`` as for handlers; ask for the
    ``UnitOfWork`` and use ``uow.views(MyView)``: what the projection stages commits with
    the events (inline) or with its receipt (async), or not at all.
    """

    lifecycle: ClassVar[Lifecycle] = Lifecycle.ASYNC
    views: ClassVar[tuple[type[View], ...]] = ()

    @classmethod
    def applies_to(cls, event_type: type[DomainEvent], registry: object) -> bool:
        """Whether this projection has a method for ``event_type`` (or a base of it)."""
        return projection_info(cls).method_for(event_type) is not None

    async def handle(self, event: DomainEvent) -> None:
        """Apply ``event`` with the method declared for its type."""
        method = projection_info(type(self)).method_for(type(event))
        if method is not None:
            await getattr(self, method)(event)


@dataclass(frozen=True, slots=True)
class ProjectionInfo:
    """What a projection class handles, found once from its annotations."""

    projection: type[Projection]
    name: str
    lifecycle: Lifecycle
    views: tuple[type[View], ...]
    methods: tuple[tuple[type[DomainEvent], str], ...]

    @property
    def short_name(self) -> str:
        """The class name, as the command line accepts it."""
        return self.projection.__name__

    def method_for(self, event_type: type[DomainEvent]) -> str | None:
        """The name of the method that applies ``event_type``: the most specific one."""
        by_type = dict(self.methods)
        for klass in event_type.__mro__:
            method = by_type.get(klass)
            if method is not None:
                return method
        return None

    def event_types(self, known: Iterable[type[DomainEvent]]) -> list[type[DomainEvent]]:
        """The event classes among ``known`` (and those declared) this projection applies."""
        found = {event_type for event_type, _ in self.methods}
        found.update(event_type for event_type in known if self.method_for(event_type))
        return sorted(found, key=lambda event_type: event_type.event_type)


def projection_info(projection: type[Projection]) -> ProjectionInfo:
    """Read (once per class) and check what a projection class handles.

    Raises ``ConfigurationError`` naming the class and what to change.
    """
    cached = projection.__dict__.get("_facta_projection_info")
    if isinstance(cached, ProjectionInfo):
        return cached
    info = _inspect(projection)
    type.__setattr__(projection, "_facta_projection_info", info)
    return info


def _inspect(projection: type[Projection]) -> ProjectionInfo:
    name = handler_name(projection)
    if not isinstance(projection.lifecycle, Lifecycle):
        raise ConfigurationError(
            f"{name}.lifecycle must be Lifecycle.INLINE or Lifecycle.ASYNC, "
            f"not {projection.lifecycle!r}"
        )
    views = projection.views
    if not isinstance(views, tuple) or not views:
        raise ConfigurationError(
            f"{name} keeps no views: declare them, e.g. `views = (OrderSummary,)`"
        )
    for view in views:
        if not (isinstance(view, type) and issubclass(view, View)):
            raise ConfigurationError(f"{name}.views lists {view!r}, which is not a View class")
    methods: dict[type[DomainEvent], str] = {}
    for klass in reversed(projection.__mro__):
        if klass is Projection or not issubclass(klass, Projection):
            continue
        for attribute, member in vars(klass).items():
            if attribute.startswith("_") or attribute in ("handle", "applies_to"):
                continue
            if not inspect.isfunction(member):
                continue
            event_type = _event_parameter(name, attribute, member)
            known = methods.get(event_type)
            if known is not None and known != attribute:
                raise ConfigurationError(
                    f"{name} has two methods for {event_type.__qualname__}: {known} and "
                    f"{attribute}; keep one"
                )
            methods[event_type] = attribute
    if not methods:
        raise ConfigurationError(
            f"{name} handles no event: write a method such as "
            f"`async def placed(self, event: OrderPlaced) -> None`"
        )
    return ProjectionInfo(projection, name, projection.lifecycle, views, tuple(methods.items()))


def _event_parameter(name: str, attribute: str, function: Any) -> type[DomainEvent]:
    where = f"{name}.{attribute}"
    if not inspect.iscoroutinefunction(function):
        raise ConfigurationError(
            f"{where} is not async: write `async def {attribute}(self, event: SomeEvent)`, "
            f"or make it private (_{attribute}) if it is a helper"
        )
    parameters = list(inspect.signature(function).parameters.values())[1:]
    if len(parameters) != 1:
        raise ConfigurationError(
            f"{where} must take exactly one event: `async def {attribute}(self, event: "
            f"SomeEvent)`; make helpers private (_{attribute})"
        )
    try:
        hints = typing.get_type_hints(function)
    except Exception as error:
        raise ConfigurationError(
            f"{where}: its annotations cannot be resolved ({error}); import the event "
            f"class in the projection's module"
        ) from None
    annotation = hints.get(parameters[0].name)
    if not (isinstance(annotation, type) and issubclass(annotation, DomainEvent)):
        raise ConfigurationError(
            f"{where} takes {getattr(annotation, '__qualname__', annotation)!s}, which is not "
            f"a DomainEvent class: annotate its parameter with the event it applies"
        )
    return annotation
