"""The outbox: committed events, and the record of each handler's delivery of each event.

Every event is written to the outbox in the transaction that commits its aggregate, so
state and events are stored together or not at all. A handler's success is recorded as a
*receipt* in the transaction of the handler's own writes, so a handler that succeeded is
never run again for that event. An event is *delivered* once each of its handlers has a
receipt or was dead-lettered; until then the relay claims it (under a lease, so that two
workers never run it at once), runs the missing handlers, and backs off between attempts.

The delivery state machine (attempts, backoff, dead letters, events that cannot be read
back) is written once, here, in ``Outbox``; a back-end only loads and stores rows through
its hooks (``claim_rows``, ``pending_rows``, ``update_deliveries``). ``InMemoryOutbox`` is
the reference back-end.
"""

from __future__ import annotations

import enum
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import pydantic

from facta.domain import DomainEvent, utc_now
from facta.errors import (
    ConfigurationError,
    DeliveryDeferred,
    FactaError,
    HandlerFailure,
    PermanentFailure,
)

__all__ = [
    "DECODING",
    "Delivery",
    "DeliveryRecord",
    "DeliverySettings",
    "DeliveryStatus",
    "DeliveryUpdate",
    "Outbox",
    "OutboxEntry",
    "OutboxRow",
    "OutboxStats",
    "PendingEvent",
    "Receipt",
    "RetryPolicy",
    "describe_error",
    "is_exhausted",
    "next_attempt",
    "settle_failures",
]

_log = logging.getLogger("facta.outbox")

DECODING = "facta.outbox.decoding"
"""The pseudo-handler under which an event that cannot be read back is dead-lettered."""

_UNDECODABLE = (FactaError, pydantic.ValidationError, ValueError, KeyError, TypeError)


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
    ``poll_interval`` when idle, and retries failed handlers by ``retry``. It delivers
    the events of up to ``concurrency`` aggregates of a batch at once (each aggregate's
    events one after the other, in order), so that handlers waiting on the network (a
    broker's confirm, say) overlap; the default, 1, delivers one event at a time, since
    handlers that write one row from several aggregates' events would conflict.
    """

    retry: RetryPolicy = RetryPolicy()
    grace: timedelta = timedelta(seconds=30)
    lease: timedelta = timedelta(seconds=60)
    batch_size: int = 100
    poll_interval: timedelta = timedelta(seconds=1)
    concurrency: int = 1

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


@dataclass(frozen=True, slots=True)
class Receipt:
    """A handler's success with an event, committed with the handler's writes."""

    event_id: UUID
    handler: str


class OutboxEntry(NamedTuple):
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


@dataclass(frozen=True, slots=True)
class Delivery:
    """One handler's delivery of one event, as a back-end stores it."""

    status: DeliveryStatus
    attempts: int
    last_error: str
    next_attempt_at: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryUpdate:
    """What a back-end writes for one event after an attempt, in one transaction.

    ``deliveries`` are the handlers' deliveries to insert or replace (the others stay as
    they are); the event is then delivered at ``at`` when ``due`` is None, and otherwise
    due again at ``due``; either way its lease is released.
    """

    deliveries: Mapping[str, Delivery]
    due: datetime | None
    at: datetime

    def decide(self, known: Mapping[str, Delivery]) -> DeliveryUpdate:
        """This update, whatever is known: for writes that do not depend on the past."""
        return self


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """An outbox row as a back-end loaded it, before it is decoded.

    ``payload`` is the event itself (in memory), its JSON text, or its fields as a
    mapping; ``settled`` names the handlers that are done or dead for it.
    """

    position: int
    event_id: UUID
    event_type: str
    payload: DomainEvent | str | bytes | Mapping[str, Any]
    settled: frozenset[str]


def is_exhausted(error: BaseException, attempts: int, policy: RetryPolicy) -> bool:
    """Whether a delivery that failed ``attempts`` times, last with ``error``, is dead."""
    return attempts >= policy.max_attempts or isinstance(error, PermanentFailure)


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


def settle_failures(
    known: Mapping[str, Delivery],
    handlers: Sequence[str],
    failures: Sequence[HandlerFailure],
    policy: RetryPolicy,
    now: datetime,
) -> DeliveryUpdate:
    """The delivery state machine: what failed attempts change for one event.

    ``known`` are the event's stored deliveries. Each failed handler takes one more
    attempt: dead once ``policy`` is exhausted (or at once for a ``PermanentFailure``),
    else due again after the policy's backoff; a handler that is done or dead already is
    left alone (a late duplicate). A ``DeliveryDeferred`` (an event waiting for its
    predecessor, a paused projection) is due again after ``first_delay`` without taking an
    attempt. The event is delivered when every one of ``handlers``
    is settled, and otherwise due at its earliest retry.
    """
    changed: dict[str, Delivery] = {}
    for failure in failures:
        delivery = known.get(failure.handler)
        if delivery is not None and delivery.status is not DeliveryStatus.FAILED:
            continue  # done or dead already: a late duplicate changes nothing
        attempts = 0 if delivery is None else delivery.attempts
        if isinstance(failure.error, DeliveryDeferred):
            # waiting (for a predecessor, for a rebuild) is not a failed attempt: due again
            # soon, never dead-lettered for it
            dead, due = False, now + policy.first_delay
        else:
            attempts += 1
            dead = is_exhausted(failure.error, attempts, policy)
            due = now + policy.delay(attempts)
        changed[failure.handler] = Delivery(
            status=DeliveryStatus.DEAD if dead else DeliveryStatus.FAILED,
            attempts=attempts,
            last_error=describe_error(failure.error),
            next_attempt_at=None if dead else _to_millisecond(due),
            updated_at=now,
        )
    state = {
        handler: (delivery.status, delivery.next_attempt_at)
        for handler, delivery in {**known, **changed}.items()
    }
    return DeliveryUpdate(changed, next_attempt(handlers, state, now), now)


def _undecodable(error: BaseException, now: datetime) -> DeliveryUpdate:
    """An event that cannot be read back: dead-lettered under ``DECODING``, so visible."""
    dead = Delivery(DeliveryStatus.DEAD, 1, describe_error(error), None, now)
    return DeliveryUpdate({DECODING: dead}, None, now)


def _to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _now() -> datetime:
    """The current time to the millisecond: what every back-end stores exactly."""
    return _to_millisecond(utc_now())


class Outbox(ABC):
    """The storage side of durable event delivery, for one application's database.

    Writing events and receipts happens in units of work (``Commit``); these methods are
    what the dispatcher, the relay and operators need besides. ``claim``,
    ``record_failures`` and ``pending`` are the delivery state machine, the same for
    every back-end; a back-end provides the rows through ``claim_rows``,
    ``pending_rows`` and ``update_deliveries``, and the operator's queries.
    """

    claims_overlap: bool = True
    """Whether a relay gains by claiming its next batch while the last one completes: a
    database reached over the network does (the round trips overlap the deliveries); one
    with a single writer on the event loop's own thread (SQLite through facta's driver,
    memory) does not, the claim would only wait for the completion's lock."""

    async def claim(self, limit: int, lease: timedelta) -> list[PendingEvent]:
        """Take up to ``limit`` events that are due, oldest first, for ``lease``.

        An event claimed by one worker is not handed to another until its lease expires.
        An event that cannot be read back (its type unknown, its payload invalid) is
        dead-lettered under ``DECODING`` instead, so that it is visible and replayable.
        """
        if limit <= 0:
            return []
        claimed: list[PendingEvent] = []
        for row in await self.claim_rows(limit, lease):
            try:
                claimed.append(self._decode(row))
            except _UNDECODABLE as error:
                await self.update_deliveries(row.event_id, _undecodable(error, _now()).decide)
        return claimed

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
        now = _now()
        await self.update_deliveries(
            event.event_id,
            lambda known: settle_failures(known, handlers, failures, policy, now),
        )

    async def pending(self, limit: int = 100) -> list[PendingEvent]:
        """Undelivered events, oldest first, without claiming them.

        A read: it writes nothing. An event that cannot be read back is left out, with a
        warning; the relay dead-letters it when it claims it.
        """
        if limit <= 0:
            return []
        pending: list[PendingEvent] = []
        for row in await self.pending_rows(limit):
            try:
                pending.append(self._decode(row))
            except _UNDECODABLE as error:
                _log.warning(
                    "outbox event %s (%s) cannot be read back: %s",
                    row.event_id,
                    row.event_type,
                    describe_error(error),
                )
        return pending

    async def release(self, event_ids: Sequence[UUID]) -> None:
        """Give back claimed events that were not handled: due again at once, for any
        worker, without waiting for their lease to run out (a relay that is stopping)."""
        now = _now()
        for event_id in event_ids:
            await self.update_deliveries(event_id, DeliveryUpdate({}, now, now).decide)

    def event_class(self, event_type: str) -> type[DomainEvent]:
        """The class of the events stored under ``event_type`` (a back-end that stores
        payloads reads it from the application's registry)."""
        raise ConfigurationError(f"this outbox cannot read back {event_type!r} events")

    def _decode(self, row: OutboxRow) -> PendingEvent:
        payload = row.payload
        if isinstance(payload, DomainEvent):
            event = payload
        elif isinstance(payload, str | bytes):
            event = self.event_class(row.event_type).model_validate_json(payload)
        else:
            event = self.event_class(row.event_type).model_validate(payload)
        return PendingEvent(row.position, event, row.settled)

    @abstractmethod
    async def claim_rows(self, limit: int, lease: timedelta) -> Sequence[OutboxRow]:
        """Back-end hook: lease up to ``limit`` (> 0) due events, oldest first.

        Due: undelivered, available, and not under another worker's lease. Two workers
        must never lease one event at once.
        """

    @abstractmethod
    async def pending_rows(self, limit: int) -> Sequence[OutboxRow]:
        """Back-end hook: up to ``limit`` (> 0) undelivered events by position; no writes."""

    @abstractmethod
    async def update_deliveries(
        self, event_id: UUID, decide: Callable[[Mapping[str, Delivery]], DeliveryUpdate]
    ) -> None:
        """Back-end hook: in one transaction, load the deliveries of ``event_id`` by
        handler, and write what ``decide`` makes of them (``DeliveryUpdate``).

        ``decide`` is pure, so a back-end may call it again when it retries a transaction.
        """

    @abstractmethod
    async def complete(self, event_ids: Sequence[UUID], receipts: Sequence[Receipt] = ()) -> None:
        """Mark events delivered (every handler succeeded), and record ``receipts``.

        Both in one transaction: the receipts are those of handlers that wrote nothing,
        deferred by the relay for its batch (``DeferredReceipts``). A receipt whose
        handler is done or dead already is left as it is (a late duplicate).
        """

    @abstractmethod
    async def is_delivered(self, event_id: UUID, handler: str) -> bool:
        """Whether ``handler`` has a receipt for ``event_id`` (an inbox look-up)."""

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
