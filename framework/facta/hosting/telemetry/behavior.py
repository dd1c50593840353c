"""The pipeline behavior of facta's OpenTelemetry instrumentation.

Outermost in every pipeline of an instrumented application: a command or query gets a
``send`` (``query``) span with its handler's span inside, an event one span per handler
run; each records its duration and outcome. Without an SDK it only asks whether one is
configured.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from facta.application import Command, MessageKind, NextStep, OperationContext, PipelineBehavior
from facta.application.tracing import trace_context
from facta.domain import DomainEvent
from facta.hosting.telemetry.context import traceparent_of
from facta.hosting.telemetry.metrics import outcome_of

if TYPE_CHECKING:
    from facta.hosting.telemetry.instrumentation import OpenTelemetry

__all__ = ["TelemetryBehavior"]

_REQUESTS = frozenset({MessageKind.COMMAND, MessageKind.QUERY})


class TelemetryBehavior(PipelineBehavior):
    """The outermost behavior of an instrumented application's pipelines.

    A command or query gets a span for its ``send`` (``query``) and one for its handler;
    an event gets one for each handler. Each records its duration and outcome.
    """

    def __init__(self, telemetry: OpenTelemetry, kind: MessageKind) -> None:
        self._telemetry = telemetry
        self._kind = kind
        self._tracer = telemetry.tracer
        self._instruments = telemetry.instruments

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        if not self._telemetry.active():
            return await call_next()
        if self._kind not in _REQUESTS:  # events (and any later kind): one span per handler
            return await self._handler(message, context, call_next)
        name = type(message).__name__
        kind = "command" if isinstance(message, Command) else "query"
        started = time.perf_counter()
        error: BaseException | None = None
        try:
            with self._tracer.start_as_current_span(
                f"{'send' if kind == 'command' else 'query'} {name}",
                attributes={
                    "facta.message.kind": kind,
                    "facta.message.type": name,
                    "facta.message.id": str(context.message_id),
                    "facta.correlation_id": str(context.correlation_id),
                    "facta.handler": context.handler,
                },
            ) as span:
                with trace_context(traceparent_of(span)):
                    return await self._handler(message, context, call_next)
        except BaseException as failure:
            error = failure
            raise
        finally:
            self._instruments.message_duration.record(
                time.perf_counter() - started,
                {
                    "facta.message.kind": kind,
                    "facta.message.type": name,
                    "facta.outcome": outcome_of(error),
                },
            )

    async def _handler(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        handler = context.handler.rsplit(".", 1)[-1]
        message_type = type(message).__name__
        started = time.perf_counter()
        error: BaseException | None = None
        attributes: dict[str, Any] = {"facta.handler": context.handler}
        if isinstance(message, DomainEvent):
            attributes["facta.event.id"] = str(message.event_id)
            attributes["facta.event.type"] = message_type
        try:
            with self._tracer.start_as_current_span(
                f"{handler} handle {message_type}", attributes=attributes
            ):
                return await call_next()
        except BaseException as failure:
            error = failure
            raise
        finally:
            self._instruments.handler_duration.record(
                time.perf_counter() - started,
                {
                    "facta.handler": handler,
                    "facta.message.type": message_type,
                    "facta.outcome": outcome_of(error),
                },
            )
