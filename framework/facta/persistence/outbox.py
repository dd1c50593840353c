"""The outbox: committed events, and the record of each handler's delivery of each event.

Every event is written to the outbox in the transaction that commits its aggregate, so
state and events are stored together or not at all. A handler's success is recorded as a
*receipt* in the transaction of the handler's own writes, so a handler that succeeded is
never run again for that event. An event is *delivered* once each of its handlers has a
receipt or was dead-lettered; until then the relay claims it (under a lease, so that two
workers never run it at once), runs the missing handlers, and backs off between attempts.

Back-ends implement ``Outbox`` for their storage; ``InMemoryOutbox`` is the reference.
"""

from __future__ import annotations

import enum
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from facta.domain import DomainEvent
from facta.errors import DeliveryDeferred, HandlerFailure, PermanentFailure

__all__ = [
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryStatus",
    "Outbox",
    "OutboxEntry",
    "OutboxStats",
    "PendingEvent",
    "Receipt",
    "RetryPolicy",
    "describe_error",
    "failure_outcome",
    "is_exhausted",
    "next_attempt",
]


class DeliveryStatus(enum.Enum):
    """Where one handler stands with one event."""

    DONE = "done"
    FAILED = "failed"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often, and how far apart, a failing handler is tried again.

    The n-th retry waits ``first_delay * factor**(n-1)``, at most ``max_delay``, spread by
    ``jitter`` (a fraction) so that many failures do not retry in step. After
    ``max_attempts`` failures, or at once for a ``PermanentFailure``, the event is
    dead-lettered for that handler.
    """

    max_attempts: int = 8
    first_delay: timedelta = timedelta(seconds=1)
    factor: float = 2.0
    max_delay: timedelta = timedelta(minutes=10)
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("factor must be >= 1 and jitter in [0, 1)")

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failure."""
        base = min(
            self.first_delay.total_seconds() * self.factor ** max(0, attempts - 1),
            self.max_delay.total_seconds(),
        )
        spread = base * self.jitter * (2 * random.random() - 1)
        return timedelta(seconds=max(0.0, base + spread))


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """How committed events reach their handlers durably.

    ``grace`` is how long the in-process dispatch that follows a commit has before the
    relay may take over an event it has not delivered (because the process died, say).
    The relay claims ``batch_size`` events at a time for ``lease``, polls every
    ``poll_interval`` when idle, and retries failed handlers by ``retry``.
    """

    retry: RetryPolicy = RetryPolicy()
    grace: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = 100
    poll_interval: timedelta = timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class Receipt:
    """A handler's success with an event, committed with the handler's writes."""

    event_id: UUID
    handler: str


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An event to store in the outbox.

    ``delivered`` when no handler needs it; otherwise the relay may claim it from
    ``available_at`` on (the in-process dispatch has until then to deliver it).
    """

    event: DomainEvent
    delivered: bool
    available_at: datetime


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An undelivered event claimed by a relay worker, with the handlers already settled."""

    position: int
    event: DomainEvent
    settled: frozenset[str]


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One handler's delivery of one event, as an operator sees it."""

    event_id: UUID
    event_type: str
    aggregate_id: str
    handler: str
    status: DeliveryStatus
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class OutboxStats:
    """How many events are delivered, waiting, and dead-lettered (per handler)."""

    delivered: int
    pending: int
    dead_letters: int


def is_exhausted(error: BaseException, attempts: int, policy: RetryPolicy) -> bool:
    """Whether a delivery that failed ``attempts`` times, last with ``error``, is dead."""
    return attempts >= policy.max_attempts or isinstance(error, PermanentFailure)


def failure_outcome(
    error: BaseException, attempts: int, policy: RetryPolicy, now: datetime
) -> tuple[int, bool, datetime | None]:
    """After a handler failed with ``error`` having failed ``attempts`` times before: its
    attempts now, whether it is dead-lettered, and when it is due again.

    A ``DeliveryDeferred`` (an event waiting for its predecessor, a paused projection) is
    not a failed attempt: it is due again after ``first_delay`` and never dead-lettered.
    """
    if isinstance(error, DeliveryDeferred):
        return attempts, False, now + policy.first_delay
    attempts += 1
    if is_exhausted(error, attempts, policy):
        return attempts, True, None
    return attempts, False, now + policy.delay(attempts)


def describe_error(error: BaseException, limit: int = 2000) -> str:
    """The text stored for a handler's failure: its type and message, cut to ``limit``."""
    text = f"{type(error).__module__}.{type(error).__qualname__}: {error}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def next_attempt(
    handlers: Sequence[str],
    deliveries: Mapping[str, tuple[DeliveryStatus, datetime | None]],
    now: datetime,
) -> datetime | None:
    """When an event is next due, from its handlers' deliveries; None once all are settled.

    A handler with no delivery yet (one added since, say) is due at once; a failed one at
    its next attempt; a done or dead one is settled.
    """
    due: list[datetime] = []
    for handler in handlers:
        delivery = deliveries.get(handler)
        if delivery is None:
            due.append(now)
        elif delivery[0] is DeliveryStatus.FAILED:
            due.append(delivery[1] or now)
    return min(due, default=None)


class Outbox(ABC):
    """The storage side of durable event delivery, for one application's database.

    Writing events and receipts happens in units of work (``Commit``); these methods are
    what the dispatcher, the relay and operators need besides.
    """

    @abstractmethod
    async def claim(self, limit: int, lease: timedelta) -> list[PendingEvent]:
        """Take up to ``limit`` events that are due, oldest first, for ``lease``.

        An event claimed by one worker is not handed to another until its lease expires.
        """

    @abstractmethod
    async def complete(self, event_ids: Sequence[UUID]) -> None:
        """Mark events delivered: every handler succeeded."""

    @abstractmethod
    async def record_failures(
        self,
        event: DomainEvent,
        handlers: Sequence[str],
        failures: Sequence[HandlerFailure],
        policy: RetryPolicy,
    ) -> None:
        """Record failed attempts, dead-letter exhausted ones, and reschedule the event.

        ``handlers`` are all the handlers the event has now: when each is done or dead
        the event is delivered; otherwise it is due again at the earliest retry.
        """

    @abstractmethod
    async def is_delivered(self, event_id: UUID, handler: str) -> bool:
        """Whether ``handler`` has a receipt for ``event_id`` (an inbox look-up)."""

    @abstractmethod
    async def pending(self, limit: int = 100) -> list[PendingEvent]:
        """Undelivered events, oldest first, without claiming them."""

    @abstractmethod
    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        """Delivery records (all, or of one status), newest first."""

    @abstractmethod
    async def replay(self, event_id: UUID | None = None, handler: str | None = None) -> int:
        """Give dead-lettered deliveries (all, of one event, or of one handler) new attempts.

        Returns how many deliveries were revived; their events are due at once.
        """

    @abstractmethod
    async def prune(self, delivered_before: datetime, limit: int | None = None) -> int:
        """Delete events delivered before the given time, with their receipts.

        Events with a dead-lettered delivery are kept, so that dead letters stay visible
        and replayable until an operator deals with them. At most ``limit`` events go per
        call (all when None); returns how many went, so a caller can prune a large outbox
        in steps and report progress.
        """

    @abstractmethod
    async def stats(self) -> OutboxStats:
        """Counts of delivered, pending and dead-lettered."""
