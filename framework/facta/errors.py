"""facta's errors: one hierarchy, so callers can catch as broadly or narrowly as they need.

```
FactaError                      root of everything facta raises
├── DomainError                 a business rule refused an operation (users subclass it)
├── MessageValidationError      a command, query or event failed validation
├── ConfigurationError          facta is used wrongly; fix the code or the set-up
│   ├── HandlerNotFound         no handler is registered for a command or query
│   ├── DuplicateHandler        two handlers are registered for one command or query
│   ├── OutsideOperation        a scoped service was asked for outside an operation
│   └── MissingExtra            an optional dependency is not installed
├── PersistenceError            storing or loading failed
│   ├── NotFound                no aggregate with that type and id
│   ├── ConcurrencyError        another writer changed the aggregate first
│   ├── AlreadyDelivered        a handler's success with an event was already recorded
│   ├── InvalidViewQuery        a view query names an unindexed field or a wrong value
│   └── RebuildRefused          a projection cannot be rebuilt (its events were pruned)
├── DeliveryDeferred            a delivery must wait; retried soon, not a failed attempt
│   ├── EventOutOfOrder         an event reached a projection before its predecessor
│   └── ProjectionPaused        a projection is being rebuilt
├── EventHandlingError          one or more domain event handlers failed
├── IntegrationError            an integration event could not be sent or received
│   ├── InvalidCloudEvent       the envelope is not a valid CloudEvent
│   ├── UnknownEventType        no handler or contract knows the event's type
│   ├── InvalidEventData        the event's data does not fit its contract
│   └── PublishFailed           a sink or broker did not accept events (retried)
└── PermanentFailure            a failure that retrying cannot fix: dead-lettered at once
    ├── EventStormError         a chain of events kept triggering itself
    └── PublishRefused          a sink refused events for good (e.g. HTTP 400)
```

Misuse (`ConfigurationError`) is kept apart from runtime failures: the former means the
code must change, the latter that an operation may be retried or reported to a user.
Every error carries the context needed to act on it as attributes, not only in its text.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "AlreadyDelivered",
    "ConcurrencyError",
    "ConfigurationError",
    "DeliveryDeferred",
    "DomainError",
    "DuplicateHandler",
    "EventHandlingError",
    "EventOutOfOrder",
    "EventStormError",
    "FactaError",
    "FieldError",
    "HandlerFailure",
    "HandlerNotFound",
    "IntegrationError",
    "InvalidCloudEvent",
    "InvalidEventData",
    "InvalidViewQuery",
    "MessageValidationError",
    "MissingExtra",
    "NotFound",
    "OutsideOperation",
    "PermanentFailure",
    "PersistenceError",
    "ProjectionPaused",
    "PublishFailed",
    "PublishRefused",
    "RebuildRefused",
    "UnknownEventType",
]


class FactaError(Exception):
    """The root of every error facta raises."""


class DomainError(FactaError):
    """A business rule refused an operation; nothing was changed.

    Subclass it for the rules of your domain (``OrderNotPending``, ``KitchenFull``) so
    callers can tell them apart; the message should say what was refused and why.
    ``code`` is the rule's stable, machine-readable name (a slug such as
    ``"kitchen-full"``) and ``title`` its short human summary; an HTTP API answers with
    them (the problem ``type`` is built from the code), never with the class name,
    which a refactoring may change.
    """

    code: typing.ClassVar[str] = "domain-rule"
    title: typing.ClassVar[str] = "Refused by a business rule"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid field of a message: where it is, what is wrong, and the error code."""

    location: tuple[str | int, ...]
    message: str
    code: str


class MessageValidationError(FactaError):
    """A command, query or event failed validation.

    ``errors`` lists each invalid field so that an API can answer with all of them at once.
    """

    def __init__(self, message_type: str, errors: Sequence[FieldError]) -> None:
        self.message_type = message_type
        self.errors = tuple(errors)
        details = "; ".join(
            f"{'.'.join(str(part) for part in error.location) or '(message)'}: {error.message}"
            for error in self.errors
        )
        super().__init__(f"invalid {message_type}: {details}")


class ConfigurationError(FactaError):
    """facta is wired or used wrongly; the code or the application set-up must change."""


class HandlerNotFound(ConfigurationError):
    """No handler is registered for a command or query type."""

    def __init__(self, message_type: type[object]) -> None:
        self.message_type = message_type
        super().__init__(
            f"no handler is registered for {message_type.__qualname__}: define a "
            f"CommandHandler/QueryHandler for it in a package the application scans, "
            f"or add it with ApplicationBuilder.add_handler()"
        )


class DuplicateHandler(ConfigurationError):
    """Two handlers are registered for one command or query type; it must have exactly one."""

    def __init__(self, message_type: type[object], handlers: Sequence[type[object]]) -> None:
        self.message_type = message_type
        self.handlers = tuple(handlers)
        names = ", ".join(f"{h.__module__}.{h.__qualname__}" for h in self.handlers)
        super().__init__(
            f"{message_type.__qualname__} has {len(self.handlers)} handlers ({names}); "
            f"a command or query must have exactly one: remove or rename all but one"
        )


class OutsideOperation(ConfigurationError):
    """A service bound to the operation scope was requested outside of an operation."""

    def __init__(self, key: object) -> None:
        self.key = key
        name = getattr(key, "__qualname__", repr(key))
        super().__init__(
            f"{name} lives in the operation scope and was requested outside an operation: "
            f"ask for it inside a handler, or open one with `async with app.operation():`"
        )


class MissingExtra(ConfigurationError):
    """An optional back-end is used but its dependencies are not installed."""

    def __init__(self, extra: str, missing_module: str) -> None:
        self.extra = extra
        self.missing_module = missing_module
        super().__init__(
            f"this feature needs the '{missing_module}' package: install it with "
            f"`pip install facta[{extra}]`"
        )


class PersistenceError(FactaError):
    """Storing or loading aggregates failed; back-ends translate driver errors into this."""


class NotFound(PersistenceError):
    """No aggregate of the given type has the given id."""

    def __init__(self, aggregate_type: str, aggregate_id: str) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        super().__init__(f"{aggregate_type} {aggregate_id!r} was not found")


class ConcurrencyError(PersistenceError):
    """Another writer changed (or created) the aggregate since it was read.

    Nothing of the failed unit of work was committed. Load the aggregate again and retry
    the command, or report the conflict to the user.
    """

    def __init__(
        self, aggregate_type: str, aggregate_id: str, expected_version: int, actual_version: int
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        if expected_version == 0:
            what = "already exists"
        else:
            what = f"was at version {expected_version} when read and is now at {actual_version}"
        super().__init__(
            f"{aggregate_type} {aggregate_id!r} {what}: another writer changed it first; "
            f"nothing was committed, reload it and retry"
        )


class AlreadyDelivered(PersistenceError):
    """A handler's success with an event was already recorded; this run was rolled back.

    It happens when a handler runs twice for one event (a relay retry racing the first
    run): the second run's writes are discarded, so the handler's effect happens once.
    """

    def __init__(self, event_id: str, handler: str) -> None:
        self.event_id = event_id
        self.handler = handler
        super().__init__(
            f"{handler} already handled event {event_id}; this run's writes were discarded"
        )


class InvalidViewQuery(PersistenceError):
    """A view query names a field its view does not index, or a value that does not fit.

    ``view_name`` is the view queried; ``reason`` says what to change.
    """

    def __init__(self, view_name: str, reason: str) -> None:
        self.view_name = view_name
        self.reason = reason
        super().__init__(f"invalid query of view {view_name!r}: {reason}")


class RebuildRefused(PersistenceError):
    """A projection cannot be rebuilt; ``reason`` names the cause and what to do."""

    def __init__(self, projection: str, reason: str) -> None:
        self.projection = projection
        self.reason = reason
        super().__init__(f"cannot rebuild {projection}: {reason}")


class DeliveryDeferred(FactaError):
    """A delivery that must wait for something else first; not a failure of the handler.

    The outbox retries it after ``RetryPolicy.first_delay`` without counting a failed
    attempt, so waiting never dead-letters an event.
    """


class EventOutOfOrder(DeliveryDeferred):
    """An event reached a projection before an earlier event of its aggregate was applied.

    It is not an error of the projection: the delivery is retried through the outbox
    after the earlier event (``waiting_for``) has been applied, so each aggregate's events
    are applied in version order and none is skipped.
    """

    def __init__(self, projection: str, event_type: str, event_id: str, waiting_for: str) -> None:
        self.projection = projection
        self.event_type = event_type
        self.event_id = event_id
        self.waiting_for = waiting_for
        super().__init__(
            f"{projection} must apply event {waiting_for} of the same aggregate before "
            f"{event_type} {event_id}; it is retried after that one"
        )


class ProjectionPaused(DeliveryDeferred):
    """A projection is paused while it is rebuilt; its events wait and are applied after."""

    def __init__(self, projection: str) -> None:
        self.projection = projection
        super().__init__(f"{projection} is paused for a rebuild; its events wait until it ends")


@dataclass(frozen=True, slots=True)
class HandlerFailure:
    """One domain event handler that raised while handling one event."""

    handler: str
    error: BaseException


class EventHandlingError(FactaError):
    """One or more handlers of an event failed; the others still ran.

    ``failures`` names each failed handler with its exception.
    """

    def __init__(self, event_type: str, event_id: str, failures: Sequence[HandlerFailure]) -> None:
        self.event_type = event_type
        self.event_id = event_id
        self.failures = tuple(failures)
        details = "; ".join(
            f"{failure.handler}: {type(failure.error).__name__}: {failure.error}"
            for failure in self.failures
        )
        super().__init__(
            f"{len(self.failures)} handler(s) of {event_type} {event_id} failed: {details}"
        )


class IntegrationError(FactaError):
    """An integration event (a CloudEvent) could not be sent or received."""


class InvalidCloudEvent(IntegrationError):
    """What arrived is not a valid CloudEvents 1.0 event; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not a valid CloudEvent: {reason}")


class UnknownEventType(IntegrationError):
    """No integration event handler (or upcaster) of this service knows the event's type."""

    def __init__(self, event_type: str, known: Sequence[str] = ()) -> None:
        self.event_type = event_type
        self.known = tuple(known)
        hint = f"; this service handles {', '.join(self.known)}" if self.known else ""
        super().__init__(f"no handler for CloudEvent type {event_type!r}{hint}")


class InvalidEventData(IntegrationError):
    """A CloudEvent's data does not fit the contract of its type; ``errors`` lists why."""

    def __init__(self, event_type: str, errors: Sequence[FieldError]) -> None:
        self.event_type = event_type
        self.errors = tuple(errors)
        details = "; ".join(
            f"{'.'.join(str(part) for part in error.location) or '(data)'}: {error.message}"
            for error in self.errors
        )
        super().__init__(f"invalid data for {event_type}: {details}")


class PublishFailed(IntegrationError):
    """A sink or broker did not accept events; the outbox retries them with backoff."""


class PermanentFailure(FactaError):
    """A handler failure that retrying cannot fix (a refused request, a bad payload).

    Raise it (or a subclass) from a handler to have the delivery dead-lettered at once,
    with this error as its reason, instead of retried with backoff.
    """


class EventStormError(PermanentFailure):
    """A chain of messages kept triggering further messages past the configured depth.

    ``chain`` names each message of the chain (events and the commands they sent), from
    the command that started it. Retrying would only extend the storm, so the delivery
    that hit the limit is dead-lettered at once.
    """

    def __init__(self, chain: Sequence[str], max_depth: int) -> None:
        self.chain = tuple(chain)
        self.max_depth = max_depth
        super().__init__(
            f"event chain deeper than {max_depth} was stopped (nothing of its last step was "
            f"committed): {' -> '.join(self.chain)}; look for handlers that keep "
            f"re-triggering each other, or raise max_event_depth"
        )


class PublishRefused(PermanentFailure):
    """A sink refused events for a reason retrying cannot fix (an HTTP 4xx, say).

    The delivery is dead-lettered at once with the sink's answer as its reason.
    """
