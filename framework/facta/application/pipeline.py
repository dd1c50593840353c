"""Pipeline behaviors: code that wraps the handling of every message of a kind.

A behavior is called with the message, its operation context and ``call_next``, the rest
of the pipeline; it may act before and after it, translate its errors, or skip it.
Behaviors are applied per message kind, in the order the application lists them, the
first listed being the outermost.
"""

from __future__ import annotations

import enum
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import pydantic

from facta.application.messages import field_errors
from facta.application.operation import OperationContext
from facta.errors import MessageValidationError

__all__ = [
    "LoggingBehavior",
    "MessageKind",
    "NextStep",
    "PipelineBehavior",
    "Pipelines",
    "ValidationBehavior",
]

NextStep = Callable[[], Awaitable[object]]
"""The rest of the pipeline, ending with the handler; call it at most once."""


class MessageKind(enum.Enum):
    """The kinds of message a pipeline applies to."""

    COMMAND = "command"
    QUERY = "query"
    EVENT = "event"
    INTEGRATION_EVENT = "integration_event"
    """A CloudEvent's typed data from another service, on its way to an
    ``IntegrationEventHandler`` (ingestion over HTTP or a broker)."""


class PipelineBehavior(ABC):
    """Wraps the handling of messages of the kinds it is registered for.

    Write ``handle`` as an ``async def``; a behavior with nothing to add for a message
    may also be a plain ``def`` that returns ``call_next()`` (the awaitable) untouched,
    which spares a coroutine per message.
    """

    @abstractmethod
    def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> Awaitable[object]:
        """Handle ``message`` by calling ``call_next()``, adding behavior around it."""


@dataclass(frozen=True, slots=True)
class Pipelines:
    """The behaviors applied to each kind of message, outermost first."""

    commands: tuple[PipelineBehavior, ...] = ()
    queries: tuple[PipelineBehavior, ...] = ()
    events: tuple[PipelineBehavior, ...] = ()
    integration_events: tuple[PipelineBehavior, ...] = ()

    def for_kind(self, kind: MessageKind) -> tuple[PipelineBehavior, ...]:
        """The behaviors of one message kind."""
        if kind is MessageKind.COMMAND:
            return self.commands
        if kind is MessageKind.QUERY:
            return self.queries
        if kind is MessageKind.INTEGRATION_EVENT:
            return self.integration_events
        return self.events


class ValidationBehavior(PipelineBehavior):
    """Reports invalid input as a typed ``MessageValidationError`` listing every field.

    Messages are validated when they are built; this catches what fails validation while
    the message is handled, such as a value object built from the message's input.
    """

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        try:
            return await call_next()
        except pydantic.ValidationError as error:
            raise MessageValidationError(type(message).__name__, field_errors(error)) from error


class LoggingBehavior(PipelineBehavior):
    """Logs each message handled, with its outcome and duration.

    When the logger is not enabled for ``level`` it costs one level check per message:
    no record or message text is built.
    """

    def __init__(self, logger: logging.Logger | None = None, level: int = logging.DEBUG) -> None:
        self._logger = logger or logging.getLogger("facta.mediator")
        self._level = level

    def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> Awaitable[object]:
        if not self._logger.isEnabledFor(self._level):
            return call_next()
        return self._logged(message, context, call_next)

    async def _logged(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        name = type(message).__name__
        started = time.perf_counter()
        self._logger.log(self._level, "handling %s (correlation %s)", name, context.correlation_id)
        try:
            result = await call_next()
        except Exception as error:
            self._logger.log(
                self._level,
                "%s failed after %.3f ms: %s: %s",
                name,
                (time.perf_counter() - started) * 1000,
                type(error).__name__,
                error,
            )
            raise
        self._logger.log(
            self._level, "handled %s in %.3f ms", name, (time.perf_counter() - started) * 1000
        )
        return result


def run_pipeline(
    behaviors: Sequence[PipelineBehavior],
    message: object,
    context: OperationContext,
    terminal: NextStep,
) -> Awaitable[object]:
    """Run ``terminal`` inside ``behaviors``, the first of them outermost."""
    step = terminal
    for behavior in reversed(behaviors):
        step = partial(behavior.handle, message, context, step)
    return step()
