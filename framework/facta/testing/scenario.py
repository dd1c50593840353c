"""Given/when/then for aggregates and applications: tests that read as specifications.

For example ``given(pending_order()).when(lambda o: o.confirm("mario")).then(OrderConfirmed)``.

``then`` compares the events recorded by the ``when`` step, in order: an event class
matches any event of that class, an event instance matches an event of its class with
the same payload (ids, times and versions are ignored). ``then_raises`` also checks that
the refused step changed nothing and recorded nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Self, TypeVar

from facta.application import Command
from facta.domain import AggregateRoot, DomainEvent
from facta.errors import ConfigurationError
from facta.hosting import Application
from facta.persistence import InMemoryOutbox, InMemoryStore, Outbox

__all__ = [
    "AggregateOutcome",
    "AggregateScenario",
    "ApplicationOutcome",
    "ApplicationScenario",
    "ExpectedEvent",
    "assert_events",
    "given",
]

A = TypeVar("A", bound=AggregateRoot)
E = TypeVar("E", bound=Exception)
ExpectedEvent = DomainEvent | type[DomainEvent]
"""An expected event: a class (any event of it) or an instance (its class and payload)."""


def assert_events(actual: Sequence[DomainEvent], expected: Sequence[ExpectedEvent]) -> None:
    """Assert that ``actual`` matches ``expected`` one for one, in order."""
    described = [_describe(event) for event in actual]
    wanted = [_describe(event) for event in expected]
    assert len(actual) == len(expected), f"expected events {wanted}, got {described}"
    for index, (event, expectation) in enumerate(zip(actual, expected, strict=True)):
        if isinstance(expectation, type):
            matches = isinstance(event, expectation)
        else:
            matches = type(event) is type(expectation) and event.payload() == expectation.payload()
        assert matches, f"event {index}: expected {wanted[index]}, got {described[index]}"


def _describe(event: ExpectedEvent) -> str:
    if isinstance(event, type):
        return f"any {event.__name__}"
    return f"{type(event).__name__}({event.payload()})"


def given(state: A | Callable[[], A], *steps: Callable[[A], object]) -> AggregateScenario[A]:
    """Start a scenario from an aggregate (or a function building one) and earlier steps.

    The events of the given state and steps are history: they are marked committed, so
    ``then`` sees only what the ``when`` step records.
    """
    aggregate = state() if callable(state) else state
    for step in steps:
        step(aggregate)
    aggregate.mark_committed(
        aggregate.next_version() if aggregate.uncommitted_events else aggregate.version
    )
    return AggregateScenario(aggregate)


class AggregateScenario(Generic[A]):
    """An aggregate in a known state, waiting for the step under test."""

    def __init__(self, aggregate: A) -> None:
        self.aggregate = aggregate

    def when(self, action: Callable[[A], object]) -> AggregateOutcome[A]:
        """Run the step under test; an exception it raises is kept for ``then_raises``."""
        before = self.aggregate.model_dump_json()
        try:
            result = action(self.aggregate)
        except Exception as error:
            return AggregateOutcome(self.aggregate, None, error, before)
        return AggregateOutcome(self.aggregate, result, None, before)


@dataclass
class AggregateOutcome(Generic[A]):
    """What the ``when`` step did: its result or error, and the events it recorded."""

    aggregate: A
    result: object
    error: Exception | None
    state_before: str

    @property
    def events(self) -> tuple[DomainEvent, ...]:
        """The events the step recorded, in order."""
        return self.aggregate.uncommitted_events

    def then(self, *expected: ExpectedEvent) -> Self:
        """Assert the step succeeded and recorded exactly ``expected``, in order."""
        if self.error is not None:
            raise AssertionError(
                f"expected events, but the step raised {type(self.error).__name__}: {self.error}"
            ) from self.error
        assert_events(self.events, expected)
        return self

    def then_state(self, check: Callable[[A], object]) -> Self:
        """Assert ``check(aggregate)`` is true after the step."""
        assert check(self.aggregate), f"state check failed for {self.aggregate!r}"
        return self

    def then_raises(self, error_type: type[E], match: str | None = None) -> E:
        """Assert the step raised ``error_type`` (with ``match`` in its text, if given),
        recorded no event and left the state as it was; return the error, typed as
        ``error_type`` (so ``error.book_id`` type-checks)."""
        error = self.error
        assert error is not None, f"expected {error_type.__name__}, but the step succeeded"
        assert isinstance(error, error_type), (
            f"expected {error_type.__name__}, got {type(error).__name__}: {error}"
        )
        if match is not None:
            assert match in str(error), f"{match!r} is not in {str(error)!r}"
        assert not self.events, f"a refused step recorded events: {self.events}"
        assert self.aggregate.model_dump_json() == self.state_before, (
            "a refused step changed the aggregate's state"
        )
        return error


class ApplicationScenario:
    """Given/when/then through an application's mediator, on in-memory persistence.

    ``given`` sends commands and publishes events (their handlers run, as in production);
    ``when`` sends the command under test and collects the events it committed.
    """

    def __init__(self, app: Application) -> None:
        self.app = app
        outbox = app.get(Outbox)  # type: ignore[type-abstract]
        if not isinstance(outbox, InMemoryOutbox):
            raise ConfigurationError(
                "ApplicationScenario reads the committed events of the in-memory back-end: "
                "build the application under test with InMemoryPersistence (the default)"
            )
        self._store = app.get(InMemoryStore)

    async def given(self, *messages: Command[Any] | DomainEvent) -> Self:
        """Send each command, or publish each event, in order."""
        for message in messages:
            if isinstance(message, DomainEvent):
                await self.app.mediator.publish(message)
            else:
                await self.app.mediator.send(message)
        return self

    async def when(
        self, command: Command[Any] | Callable[[], Awaitable[object]]
    ) -> ApplicationOutcome:
        """Send ``command`` (or run an async function); keep its result or error."""
        committed = len(self._store.events)
        try:
            if isinstance(command, Command):
                result: object = await self.app.mediator.send(command)
            else:
                result = await command()
        except Exception as error:
            return ApplicationOutcome(None, error, self._store.events[committed:])
        return ApplicationOutcome(result, None, self._store.events[committed:])


@dataclass
class ApplicationOutcome:
    """What the command under test did: its result or error, and every event committed
    because of it (by its handler and by the event handlers that followed)."""

    result: object
    error: Exception | None
    events: tuple[DomainEvent, ...]

    def then(self, *expected: ExpectedEvent) -> Self:
        """Assert the command succeeded and exactly ``expected`` were committed, in order."""
        if self.error is not None:
            raise AssertionError(
                f"expected events, but the command raised {type(self.error).__name__}: {self.error}"
            ) from self.error
        assert_events(self.events, expected)
        return self

    def then_raises(self, error_type: type[E], match: str | None = None) -> E:
        """Assert the command raised ``error_type`` and committed nothing; return the error,
        typed as ``error_type``."""
        error = self.error
        assert error is not None, f"expected {error_type.__name__}, but the command succeeded"
        assert isinstance(error, error_type), (
            f"expected {error_type.__name__}, got {type(error).__name__}: {error}"
        )
        if match is not None:
            assert match in str(error), f"{match!r} is not in {str(error)!r}"
        assert not self.events, f"a refused command committed events: {self.events}"
        return error
