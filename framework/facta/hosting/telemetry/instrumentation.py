"""``OpenTelemetry``: facta's instrumentation hooks, recording spans and metrics.

The spans of one command, from the request that sent it to the other service's handler::

    POST /orders                                  SERVER   (web hosting)
      send PlaceOrder                             INTERNAL (the pipeline behavior)
        PlaceOrderHandler handle PlaceOrder       INTERNAL
          commit                                  CLIENT   (the unit of work's write)
          dispatch OrderPlaced                    INTERNAL (the mediator)
            OrderSummaryProjection handle ...     INTERNAL
            CloudEventBridge handle OrderPlaced   INTERNAL
              publish com.example.order.placed.v1 PRODUCER (its context goes in the event)
    ── RabbitMQ ──
    process com.example.order.placed.v1           CONSUMER (child of the producer span)
      ... handle ...

A delivery by the outbox relay, later and maybe in another process, is a CONSUMER span
``deliver OrderPlaced`` whose parent is the commit that stored the event (its stored
``traceparent``), with a link to it, per the messaging conventions for processing one
message. Every span that can commit also becomes facta's ``trace_context``, so the events
it commits carry it.

When neither a tracer provider nor a meter provider is configured (no SDK), each hook
costs one check and does nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

import injector
from opentelemetry import metrics, trace
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from facta.application import MessageKind, PipelineBehavior
from facta.application.instrumentation import HttpExchange, Instrumentation
from facta.application.tracing import trace_context
from facta.domain import DomainEvent
from facta.errors import ConfigurationError
from facta.hosting.services import BackgroundService
from facta.hosting.telemetry.behavior import TelemetryBehavior
from facta.hosting.telemetry.context import parent_of, span_context_of, traceparent_of
from facta.hosting.telemetry.metrics import Instruments, OutboxMonitor, outcome_of
from facta.persistence import Outbox

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

__all__ = ["OpenTelemetry"]

_VERSION = "0.1.0"
_RECHECK_EVERY = 1.0  # seconds between looks for a provider configured after start-up


class OpenTelemetry(Instrumentation):
    """Spans and metrics of one application through the OpenTelemetry API.

    ``tracer_provider`` and ``meter_provider`` default to the global ones (set by the
    SDK's ``trace.set_tracer_provider``, or by ``opentelemetry-instrument``); pass your
    own to keep two applications' telemetry apart, as tests do. ``name`` is the
    ``facta.application`` attribute of the outbox's gauges (and of the meter): two
    applications on the same providers need different names. ``outbox_interval`` is how
    often (seconds) the gauges are read from the database.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        name: str = "facta",
        outbox_interval: float = 10.0,
    ) -> None:
        self._tracer = trace.get_tracer("facta", _VERSION, tracer_provider=tracer_provider)
        meter = metrics.get_meter(
            "facta", _VERSION, meter_provider, attributes={"facta.application": name}
        )
        self.instruments = Instruments(meter, name)
        self._explicit = tracer_provider is not None or meter_provider is not None
        self._on = self._explicit
        self._checked_at = -_RECHECK_EVERY
        self._outbox_interval = outbox_interval
        self._behaviors = {kind: TelemetryBehavior(self, kind) for kind in MessageKind}

    @property
    def tracer(self) -> trace.Tracer:
        """The tracer facta's spans are made with."""
        return self._tracer

    @property
    def monitor(self) -> OutboxMonitor | None:
        """The outbox monitor behind the gauges, once the application is built."""
        return self.instruments.monitor

    def active(self) -> bool:
        """Whether an SDK is configured: without one every hook does nothing.

        A provider set after start-up is noticed within a second.
        """
        if self._on:
            return True
        now = time.monotonic()
        if now - self._checked_at < _RECHECK_EVERY:
            return False
        self._checked_at = now
        self._on = _configured(trace.get_tracer_provider()) or _configured(
            metrics.get_meter_provider()
        )
        return self._on

    def services(self, container: injector.Injector) -> list[BackgroundService]:
        """The outbox monitor (started with the application); finds the circuit breaker."""
        from facta.integration.publishers import CircuitBreaker, Publisher

        if self.instruments.monitor is not None:
            raise ConfigurationError(
                "an OpenTelemetry instrumentation serves one application: create one per build"
            )
        outbox: Outbox = container.get(Outbox)  # type: ignore[type-abstract]
        monitor = OutboxMonitor(outbox, self._outbox_interval)
        self.instruments.monitor = monitor
        if container.binder.has_explicit_binding_for(Publisher):
            publisher = container.get(Publisher)  # type: ignore[type-abstract]
            if isinstance(publisher, CircuitBreaker):
                self.instruments.breaker = publisher
        return [monitor]

    def behavior(self, kind: MessageKind) -> PipelineBehavior | None:
        return self._behaviors[kind]

    def dispatching(self, event: DomainEvent) -> AbstractContextManager[object]:
        if not self.active():
            return nullcontext()
        return self._tracer.start_as_current_span(
            f"dispatch {event.event_type}",
            attributes={
                "facta.event.type": event.event_type,
                "facta.event.id": str(event.event_id),
                "facta.aggregate.id": event.aggregate_id,
            },
        )

    def committing(
        self, unit_of_work: object, aggregates: int, events: int
    ) -> AbstractContextManager[object]:
        if not self.active():
            return nullcontext()
        return self._commit(unit_of_work, aggregates, events)

    @contextmanager
    def _commit(self, unit_of_work: object, aggregates: int, events: int) -> Iterator[object]:
        attributes: dict[str, Any] = {
            "db.operation.name": "commit",
            "facta.commit.aggregates": aggregates,
            "facta.commit.events": events,
        }
        system = _db_system(unit_of_work)
        if system is not None:
            attributes["db.system.name"] = system
        with self._tracer.start_as_current_span(
            "commit", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            with trace_context(traceparent_of(span)):
                yield span

    def projecting(self, projection: str, event: DomainEvent) -> AbstractContextManager[object]:
        if not self.active():
            return nullcontext()
        return self._tracer.start_as_current_span(
            f"{projection.rsplit('.', 1)[-1]} apply {event.event_type}",
            attributes={
                "facta.handler": projection,
                "facta.event.type": event.event_type,
                "facta.event.id": str(event.event_id),
                "facta.projection.lifecycle": "inline",
            },
        )

    def delivering(
        self, event: DomainEvent, handlers: Sequence[str]
    ) -> AbstractContextManager[object]:
        if not self.active():
            return nullcontext()
        return self._deliver(event, handlers)

    @contextmanager
    def _deliver(self, event: DomainEvent, handlers: Sequence[str]) -> Iterator[object]:
        self.instruments.retries.add(len(handlers), {"facta.event.type": event.event_type})
        committed = span_context_of(event.traceparent)
        with self._tracer.start_as_current_span(
            f"deliver {event.event_type}",
            context=parent_of(event.traceparent) if committed is not None else None,
            kind=SpanKind.CONSUMER,
            links=[Link(committed, {"facta.link": "committed"})] if committed else None,
            attributes={
                "messaging.system": "facta.outbox",
                "messaging.operation.type": "process",
                "messaging.operation.name": "deliver",
                "messaging.destination.name": "outbox",
                "messaging.message.id": str(event.event_id),
                "facta.event.type": event.event_type,
                "facta.handlers": tuple(handlers),
            },
        ) as span:
            with trace_context(traceparent_of(span)):
                yield span

    def publishing(
        self, events: Sequence[CloudEvent], destination: object
    ) -> AbstractContextManager[Sequence[CloudEvent]]:
        if not self.active():
            return nullcontext(events)
        return self._publish(events, destination)

    @contextmanager
    def _publish(
        self, events: Sequence[CloudEvent], destination: object
    ) -> Iterator[Sequence[CloudEvent]]:
        from cloudevents.core.v1.event import CloudEvent

        first = events[0]
        attributes = _cloudevent_attributes(first) if len(events) == 1 else {}
        attributes.update(_destination_attributes(destination))
        attributes["messaging.operation.type"] = "send"
        attributes["messaging.operation.name"] = "publish"
        if len(events) > 1:
            attributes["messaging.batch.message_count"] = len(events)
        error: BaseException | None = None
        with self._tracer.start_as_current_span(
            f"publish {first.get_type()}", kind=SpanKind.PRODUCER, attributes=attributes
        ) as span:
            traceparent = traceparent_of(span)
            traced = (
                events
                if traceparent is None
                else [
                    CloudEvent(
                        {**event.get_attributes(), "traceparent": traceparent}, event.get_data()
                    )
                    for event in events
                ]
            )
            try:
                yield traced
            except BaseException as failure:
                error = failure
                raise
            finally:
                outcome = outcome_of(error)
                for event in events:
                    self.instruments.published.add(
                        1, {"cloudevents.event_type": event.get_type(), "facta.outcome": outcome}
                    )

    def receiving(self, event: CloudEvent) -> AbstractContextManager[object]:
        if not self.active():
            return nullcontext()
        return self._receive(event)

    @contextmanager
    def _receive(self, event: CloudEvent) -> Iterator[object]:
        traceparent = event.get_attributes().get("traceparent")
        producer = span_context_of(traceparent)
        current = trace.get_current_span().get_span_context()
        attributes = _cloudevent_attributes(event)
        attributes["messaging.operation.type"] = "process"
        attributes["messaging.operation.name"] = "process"
        error: BaseException | None = None
        with self._tracer.start_as_current_span(
            f"process {event.get_type()}",
            context=parent_of(traceparent) if producer is not None else None,
            kind=SpanKind.CONSUMER,
            # the request or delivery that brought the event, when it is another trace
            links=[Link(current)] if producer is not None and current.is_valid else None,
            attributes=attributes,
        ) as span:
            try:
                with trace_context(traceparent_of(span)):
                    yield span
            except BaseException as failure:
                error = failure
                raise
            finally:
                outcome = outcome_of(error)
                self.instruments.received.add(
                    1, {"cloudevents.event_type": event.get_type(), "facta.outcome": outcome}
                )

    @contextmanager
    def serving(self, method: str, path: str, headers: Mapping[str, str]) -> Iterator[HttpExchange]:
        if not self.active():
            yield _Exchange(None)
            return
        caller = headers.get("traceparent")
        attributes: dict[str, Any] = {
            "http.request.method": method,
            "url.path": path,
        }
        agent = headers.get("user-agent")
        if agent:
            attributes["user_agent.original"] = agent
        host = headers.get("host")
        if host:
            address, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
            attributes["server.address"] = address or host
            if port.isdigit():
                attributes["server.port"] = int(port)
        with self._tracer.start_as_current_span(
            method,
            context=parent_of(caller),
            kind=SpanKind.SERVER,
            attributes=attributes,
            set_status_on_exception=True,
        ) as span:
            exchange = _Exchange(span)
            try:
                with trace_context(traceparent_of(span)):
                    yield exchange
            finally:
                exchange.finish(method)


class _Exchange:
    def __init__(self, span: trace.Span | None) -> None:
        self._span = span
        self._status: int | None = None
        self._route: str | None = None

    def respond(self, status: int) -> None:
        self._status = status

    def route(self, template: str) -> None:
        self._route = template

    def finish(self, method: str) -> None:
        span = self._span
        if span is None:
            return
        if self._route:
            span.update_name(f"{method} {self._route}")
            span.set_attribute("http.route", self._route)
        if self._status is not None:
            span.set_attribute("http.response.status_code", self._status)
            if self._status >= 500:
                span.set_status(Status(StatusCode.ERROR, f"HTTP {self._status}"))


def _configured(provider: object) -> bool:
    """Whether ``provider`` is an SDK's, not the API's proxy or no-op one."""
    name = type(provider).__name__
    return not (name.startswith(("_Proxy", "Proxy", "NoOp", "_NoOp")))


def _db_system(unit_of_work: object) -> str | None:
    dialect = getattr(unit_of_work, "_dialect", None)  # the SQLAlchemy back-end's
    if isinstance(dialect, str):
        return dialect
    if type(unit_of_work).__name__.startswith("Mongo"):
        return "mongodb"
    return None


def _cloudevent_attributes(event: CloudEvent) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.message.id": event.get_id(),
        "cloudevents.event_id": event.get_id(),
        "cloudevents.event_source": event.get_source(),
        "cloudevents.event_type": event.get_type(),
        "cloudevents.event_spec_version": "1.0",
    }
    subject = event.get_subject()
    if subject:
        attributes["cloudevents.event_subject"] = subject
    return attributes


def _destination_attributes(destination: object) -> dict[str, Any]:
    """Where a publisher sends: RabbitMQ's exchange, an HTTP sink's URL, or memory."""
    inner = getattr(destination, "_publisher", destination)  # a circuit breaker's
    exchange = getattr(inner, "exchange", None)
    if isinstance(exchange, str):
        return {"messaging.system": "rabbitmq", "messaging.destination.name": exchange}
    url = getattr(inner, "url", None)
    if isinstance(url, str):
        return {"messaging.system": "http", "url.full": url}
    return {"messaging.system": type(inner).__name__}
