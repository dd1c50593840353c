"""The application layer: commands, queries, their handlers, and the mediator.

It uses the domain layer and nothing below it; persistence and hosting plug in through
dependency injection and pipeline behaviors.
"""

from facta.application.handlers import (
    CommandHandler,
    DomainEventHandler,
    QueryHandler,
    handled_message_type,
    handler_name,
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

__all__ = [
    "Command",
    "CommandHandler",
    "DispatchReport",
    "DomainEventHandler",
    "HandlerRegistry",
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
    "ValidationBehavior",
    "handled_message_type",
    "handler_name",
    "operation_scope",
    "parse_message",
]
