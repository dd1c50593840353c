"""The application layer: commands, queries, their handlers, and the mediator.

It uses the domain layer and nothing below it; persistence and hosting plug in through
dependency injection and pipeline behaviors.
"""

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
