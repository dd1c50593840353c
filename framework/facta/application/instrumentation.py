"""Instrumentation: the hooks where telemetry observes an application, doing nothing here.

facta calls these hooks at the few places an operator wants to see: each message sent
(through a pipeline behavior), each event dispatch, each unit of work's commit, each
delivery by the outbox relay, each CloudEvent published and each one received. This base
class does nothing; ``facta.observability.OpenTelemetry`` (``pip install facta[otel]``)
records spans and metrics with them. An application without instrumentation has none of
these calls on its hot path (the mediator checks for ``None`` once per dispatch).

Every hook that wraps work is a context manager, so that a failure inside it reaches the
hook (to be recorded) and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Protocol

from facta.domain import DomainEvent

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

    from facta.application.pipeline import MessageKind, PipelineBehavior

__all__ = ["HttpExchange", "Instrumentation"]

_NOTHING: AbstractContextManager[None] = nullcontext()


class HttpExchange(Protocol):
    """What a web server tells instrumentation about a request while it is served."""

    def respond(self, status: int) -> None:
        """Note the status of the response."""

    def route(self, template: str) -> None:
        """Note the route template that matched (``/orders/{order_id}``)."""


class _NoExchange:
    def respond(self, status: int) -> None:
        return None

    def route(self, template: str) -> None:
        return None


class Instrumentation:
    """The hooks of one application's telemetry; every hook here does nothing.

    Give an instance to ``ApplicationBuilder.instrument``; one instance per application.
    """

    def behavior(self, kind: MessageKind) -> PipelineBehavior | None:
        """The behavior to run outermost in the pipeline of ``kind``, if any."""
        return None

    def projecting(self, projection: str, event: DomainEvent) -> AbstractContextManager[object]:
        """Wraps an inline projection applying ``event`` inside a unit of work's commit."""
        return _NOTHING

    def dispatching(self, event: DomainEvent) -> AbstractContextManager[object]:
        """Wraps the run of every handler of ``event`` (one dispatch)."""
        return _NOTHING

    def committing(
        self, unit_of_work: object, aggregates: int, events: int
    ) -> AbstractContextManager[object]:
        """Wraps one unit of work's atomic write of ``aggregates`` and ``events``."""
        return _NOTHING

    def delivering(
        self, event: DomainEvent, handlers: Sequence[str]
    ) -> AbstractContextManager[object]:
        """Wraps the relay's delivery of a committed ``event`` to the missing ``handlers``."""
        return _NOTHING

    def publishing(
        self, events: Sequence[CloudEvent], destination: object
    ) -> AbstractContextManager[Sequence[CloudEvent]]:
        """Wraps one publish of CloudEvents to ``destination`` (a publisher).

        It yields the events to send: telemetry may carry its trace context in them.
        """
        return nullcontext(events)

    def receiving(self, event: CloudEvent) -> AbstractContextManager[object]:
        """Wraps the handling of one CloudEvent received from another service."""
        return _NOTHING

    @contextmanager
    def serving(self, method: str, path: str, headers: Mapping[str, str]) -> Iterator[HttpExchange]:
        """Wraps one HTTP request served by the web hosting; yields where to note the
        response (``headers`` are the request's, names in lower case)."""
        yield _NoExchange()
