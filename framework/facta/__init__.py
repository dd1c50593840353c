"""facta: domain-driven, CQRS applications that do not lose data.

The names here are the public face; everything else is reachable through the layer
packages (``facta.domain``, ``facta.application``, ``facta.persistence``,
``facta.hosting``, ``facta.testing``) but is not needed for everyday use.
"""

from facta.application import (
    Command,
    CommandHandler,
    DispatchReport,
    DomainEventHandler,
    Mediator,
    MessageKind,
    NextStep,
    OperationContext,
    PipelineBehavior,
    Query,
    QueryHandler,
    operation_scope,
    parse_message,
)
from facta.domain import AggregateRoot, DomainEvent, Entity, ValueObject, new_id, utc_now
from facta.errors import (
    ConcurrencyError,
    ConfigurationError,
    DomainError,
    DuplicateHandler,
    EventHandlingError,
    EventStormError,
    FactaError,
    FieldError,
    HandlerFailure,
    HandlerNotFound,
    MessageValidationError,
    MissingExtra,
    NotFound,
    OutsideOperation,
    PersistenceError,
)
from facta.hosting import Application, ApplicationBuilder, BackgroundService
from facta.persistence import (
    InMemoryPersistence,
    InMemoryStore,
    InMemoryUnitOfWork,
    Repository,
    UnitOfWork,
)

__all__ = [
    "AggregateRoot",
    "Application",
    "ApplicationBuilder",
    "BackgroundService",
    "Command",
    "CommandHandler",
    "ConcurrencyError",
    "ConfigurationError",
    "DispatchReport",
    "DomainError",
    "DomainEvent",
    "DomainEventHandler",
    "DuplicateHandler",
    "Entity",
    "EventHandlingError",
    "EventStormError",
    "FactaError",
    "FieldError",
    "HandlerFailure",
    "HandlerNotFound",
    "InMemoryPersistence",
    "InMemoryStore",
    "InMemoryUnitOfWork",
    "Mediator",
    "MessageKind",
    "MessageValidationError",
    "MissingExtra",
    "NextStep",
    "NotFound",
    "OperationContext",
    "OutsideOperation",
    "PersistenceError",
    "PipelineBehavior",
    "Query",
    "QueryHandler",
    "Repository",
    "UnitOfWork",
    "ValueObject",
    "new_id",
    "operation_scope",
    "parse_message",
    "utc_now",
]

__version__ = "0.1.0"
