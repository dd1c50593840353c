"""facta's metrics, through the OpenTelemetry metrics API.

- ``facta.message.duration`` (histogram, s): commands and queries, by
  ``facta.message.kind`` (command, query), ``facta.message.type``, ``facta.outcome``;
- ``facta.handler.duration`` (histogram, s): handler runs, by ``facta.handler``,
  ``facta.message.type``, ``facta.outcome``;
- ``facta.outbox.pending`` (gauge, {event}): committed events not yet delivered;
- ``facta.outbox.lag`` (gauge, s): the age of the oldest of them;
- ``facta.outbox.dead_letters`` (gauge, {delivery}): deliveries waiting for an operator;
- ``facta.outbox.retries`` (counter, {delivery}): handler runs by the relay, by
  ``facta.event.type``;
- ``facta.cloudevents.published`` and ``facta.cloudevents.received`` (counters, {event}):
  by ``cloudevents.event_type`` and ``facta.outcome``;
- ``facta.circuit_breaker.state`` (gauge): 0 closed, 1 half-open, 2 open.

The gauges carry ``facta.application``. A histogram counts as well as times: its count
by type and outcome is the number of commands (queries, handler runs) that ended so.
``facta.outcome`` is ``ok``, ``refused`` (a ``DomainError`` or
``PublishRefused``: an answer, not an outage) or ``error``.

The outbox's gauges are read from the database by ``OutboxMonitor``, a background service
that refreshes them every few seconds (an exporter's callback cannot wait for a query).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from facta.domain import utc_now
from facta.errors import DomainError, PublishRefused
from facta.persistence import Outbox

__all__ = ["Instruments", "OutboxMonitor", "OutboxReading", "outcome_of"]

_log = logging.getLogger("facta.telemetry")
_DURATION_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
_BREAKER_STATES = {"closed": 0, "half-open": 1, "open": 2}


def outcome_of(error: BaseException | None) -> str:
    """``ok``, ``refused`` (the domain or a sink said no) or ``error``."""
    if error is None:
        return "ok"
    if isinstance(error, DomainError | PublishRefused):
        return "refused"
    return "error"


@dataclass(frozen=True, slots=True)
class OutboxReading:
    """What the monitor last read of the outbox."""

    pending: int
    dead_letters: int
    lag: float


class OutboxMonitor:
    """Reads the outbox every ``interval`` seconds, for the gauges (a background service).

    ``refresh()`` reads it at once (tests, an operator's script); ``reading`` is the last
    reading, or None before the first.
    """

    def __init__(self, outbox: Outbox, interval: float = 10.0) -> None:
        self._outbox = outbox
        self._interval = interval
        self._task: asyncio.Task[None] | None = None
        self.reading: OutboxReading | None = None

    async def refresh(self) -> OutboxReading:
        """Read the outbox now: pending events, dead letters, the oldest pending's age."""
        stats = await self._outbox.stats()
        oldest = await self._outbox.pending(1)
        lag = (utc_now() - oldest[0].event.occurred_at).total_seconds() if oldest else 0.0
        self.reading = OutboxReading(stats.pending, stats.dead_letters, max(lag, 0.0))
        return self.reading

    async def start(self) -> None:
        """Start reading in the background."""
        self._task = asyncio.create_task(self._run(), name="facta-outbox-monitor")

    async def stop(self) -> None:
        """Stop reading."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.refresh()
            except Exception as error:  # a database away: the gauges keep their last value
                _log.warning("could not read the outbox for its metrics: %s", error)
            await asyncio.sleep(self._interval)


class Instruments:
    """The instruments of one application, created on its meter."""

    def __init__(self, meter: Meter, application: str) -> None:
        self.application = {"facta.application": application}
        self.message_duration = meter.create_histogram(
            "facta.message.duration",
            unit="s",
            description="How long commands and queries took, by type and outcome.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.handler_duration = meter.create_histogram(
            "facta.handler.duration",
            unit="s",
            description="How long handler runs took, by handler, message type and outcome.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        self.retries = meter.create_counter(
            "facta.outbox.retries",
            unit="{delivery}",
            description="Handler runs by the outbox relay (each one a retry of the dispatch).",
        )
        self.published = meter.create_counter(
            "facta.cloudevents.published",
            unit="{event}",
            description="CloudEvents published, by type and outcome.",
        )
        self.received = meter.create_counter(
            "facta.cloudevents.received",
            unit="{event}",
            description="CloudEvents received, by type and outcome.",
        )
        self.monitor: OutboxMonitor | None = None
        self.breaker: object | None = None
        meter.create_observable_gauge(
            "facta.outbox.pending",
            [self._pending],
            unit="{event}",
            description="Committed events not yet delivered to every handler.",
        )
        meter.create_observable_gauge(
            "facta.outbox.lag",
            [self._lag],
            unit="s",
            description="Age of the oldest undelivered event.",
        )
        meter.create_observable_gauge(
            "facta.outbox.dead_letters",
            [self._dead_letters],
            unit="{delivery}",
            description="Deliveries dead-lettered, waiting for an operator.",
        )
        meter.create_observable_gauge(
            "facta.circuit_breaker.state",
            [self._breaker_state],
            unit="1",
            description="The publisher's circuit breaker: 0 closed, 1 half-open, 2 open.",
        )

    def _reading(self) -> OutboxReading | None:
        return None if self.monitor is None else self.monitor.reading

    def _pending(self, options: CallbackOptions) -> Iterable[Observation]:
        reading = self._reading()
        return [] if reading is None else [Observation(reading.pending, self.application)]

    def _lag(self, options: CallbackOptions) -> Iterable[Observation]:
        reading = self._reading()
        return [] if reading is None else [Observation(reading.lag, self.application)]

    def _dead_letters(self, options: CallbackOptions) -> Iterable[Observation]:
        reading = self._reading()
        return [] if reading is None else [Observation(reading.dead_letters, self.application)]

    def _breaker_state(self, options: CallbackOptions) -> Iterable[Observation]:
        state = getattr(self.breaker, "state", None)
        if state not in _BREAKER_STATES:
            return []
        return [Observation(_BREAKER_STATES[str(state)], self.application)]
