"""The application layer: commands, queries, their handlers, and the mediator.

It uses the domain layer and nothing below it; persistence and hosting plug in through
dependency injection and pipeline behaviors.
"""

import typing

from facta import _lazy

if typing.TYPE_CHECKING:
    from facta.application.conflicts import ConflictRetry
    from facta.application.handlers import (
        CommandHandler,
        DomainEventHandler,
        QueryHandler,
        handled_message_type,
        handler_name,
    )
    from facta.application.instrumentation import HttpExchange, Instrumentation
    from facta.application.integration import (
        Envelope,
        EventContract,
        IntegrationEvent,
        IntegrationEventHandler,
        Upcaster,
        type_version,
    )
    from facta.application.mediator import DispatchReport, Mediator
    from facta.application.messages import Command, Message, Query, parse_message
    from facta.application.operation import OperationContext, OperationScope, operation_scope
    from facta.application.pipeline import (
        LoggingBehavior,
        MessageKind,
        NextStep,
        PipelineBehavior,
        Pipelines,
        ValidationBehavior,
    )
    from facta.application.registry import HandlerRegistry
    from facta.application.tracing import current_traceparent, trace_context
    from facta.application.upcasting import DataUpcaster, EventUpcaster
else:
    __getattr__, __dir__ = _lazy.lazy_exports(
        globals(),
        {
            "facta.application.conflicts": ("ConflictRetry",),
            "facta.application.handlers": (
                "CommandHandler",
                "DomainEventHandler",
                "QueryHandler",
                "handled_message_type",
                "handler_name",
            ),
            "facta.application.instrumentation": ("HttpExchange", "Instrumentation"),
            "facta.application.integration": (
                "Envelope",
                "EventContract",
                "IntegrationEvent",
                "IntegrationEventHandler",
                "Upcaster",
                "type_version",
            ),
            "facta.application.mediator": ("DispatchReport", "Mediator"),
            "facta.application.messages": ("Command", "Message", "Query", "parse_message"),
            "facta.application.operation": (
                "OperationContext",
                "OperationScope",
                "operation_scope",
            ),
            "facta.application.pipeline": (
                "LoggingBehavior",
                "MessageKind",
                "NextStep",
                "PipelineBehavior",
                "Pipelines",
                "ValidationBehavior",
            ),
            "facta.application.registry": ("HandlerRegistry",),
            "facta.application.tracing": ("current_traceparent", "trace_context"),
            "facta.application.upcasting": ("DataUpcaster", "EventUpcaster"),
        },
    )

__all__ = [
    "Command",
    "CommandHandler",
    "ConflictRetry",
    "DataUpcaster",
    "DispatchReport",
    "DomainEventHandler",
    "Envelope",
    "EventContract",
    "EventUpcaster",
    "HandlerRegistry",
    "HttpExchange",
    "Instrumentation",
    "IntegrationEvent",
    "IntegrationEventHandler",
    "LoggingBehavior",
    "Mediator",
    "Message",
    "MessageKind",
    "NextStep",
    "OperationContext",
    "OperationScope",
    "PipelineBehavior",
    "Pipelines",
    "Query",
    "QueryHandler",
    "Upcaster",
    "ValidationBehavior",
    "current_traceparent",
    "handled_message_type",
    "handler_name",
    "operation_scope",
    "parse_message",
    "trace_context",
    "type_version",
]
