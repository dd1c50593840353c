"""Publishers: where the CloudEvents of a service go (a broker, an HTTP sink, memory).

A ``Publisher`` either accepts every event it is given or raises: ``PublishFailed`` when a
retry may succeed (the outbox retries with backoff), ``PublishRefused`` when it never will
(the delivery is dead-lettered at once with the answer). ``CircuitBreaker`` wraps any
publisher so that a sink that keeps failing is left alone for a while instead of hammered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from facta.errors import PublishFailed, PublishRefused

if TYPE_CHECKING:
    from cloudevents.core.v1.event import CloudEvent

__all__ = ["CircuitBreaker", "InMemoryPublisher", "Publisher"]


@runtime_checkable
class Publisher(Protocol):
    """Sends CloudEvents to their destination; returns only once all were accepted."""

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Send ``events``; raise ``PublishFailed`` or ``PublishRefused`` if not accepted."""


class InMemoryPublisher:
    """Keeps what was published, for tests; can be told to fail the next publishes."""

    def __init__(self) -> None:
        self.published: list[CloudEvent] = []
        self._failures: list[Exception] = []

    def fail_next(self, times: int = 1, *, refuse: bool = False) -> None:
        """Make the next ``times`` publishes fail (or be refused for good)."""
        error: Exception = (
            PublishRefused("the sink refused the events")
            if refuse
            else PublishFailed("the sink is unavailable")
        )
        self._failures.extend([error] * times)

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        if self._failures:
            raise self._failures.pop(0)
        self.published.extend(events)

    def of_type(self, cloudevent_type: str) -> list[CloudEvent]:
        """The published events of one type, in order."""
        return [event for event in self.published if event.get_type() == cloudevent_type]


class CircuitBreaker:
    """Stops calling a publisher that keeps failing, and tries it again after a pause.

    After ``failure_threshold`` failures in a row the circuit opens: publishes fail at
    once with ``PublishFailed`` (the outbox retries later) for ``reset_after`` seconds.
    Then one publish is let through: success closes the circuit, failure opens it again.
    Refusals (``PublishRefused``) are answers, not outages, and do not count.
    """

    def __init__(
        self,
        publisher: Publisher,
        failure_threshold: int = 5,
        reset_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._publisher = publisher
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None

    async def start(self) -> None:
        """Start the wrapped publisher, if it is a background service."""
        start = getattr(self._publisher, "start", None)
        if start is not None:
            await start()

    async def stop(self) -> None:
        """Stop the wrapped publisher, if it is a background service."""
        stop = getattr(self._publisher, "stop", None)
        if stop is not None:
            await stop()

    @property
    def state(self) -> str:
        """``"closed"`` (publishing), ``"open"`` (refusing at once) or ``"half-open"``
        (the pause is over: the next publish is the trial)."""
        if self._opened_at is None:
            return "closed"
        return "open" if self.is_open else "half-open"

    @property
    def is_open(self) -> bool:
        """True while publishes are refused without calling the publisher."""
        return self._opened_at is not None and self._clock() - self._opened_at < self._reset_after

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        if self.is_open:
            raise PublishFailed(
                f"the circuit is open after {self._failures} failures in a row; "
                f"the next try is in {self._reset_after:.0f} s at most"
            )
        try:
            await self._publisher.publish(events)
        except PublishRefused:
            raise
        except Exception:
            self._failures += 1
            if self._failures >= self._threshold:
                self._opened_at = self._clock()
            raise
        self._failures, self._opened_at = 0, None
