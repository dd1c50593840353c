"""The outbox relay: delivers what the in-process dispatch after a commit did not.

A handler that raised, or a process that died between commit and dispatch, leaves events
undelivered in the outbox. The relay claims due events under a lease (so several workers
never run one event at once), runs only the handlers that have not yet succeeded or been
dead-lettered, and records the outcome: delivered, or failed and due again after a
backoff, until the retry policy dead-letters the handler.

A claimed batch is delivered aggregate by aggregate: the events of up to
``DeliverySettings.concurrency`` aggregates at once, each aggregate's in order. The
receipts of handlers that wrote nothing (``DeferredReceipts``) and the completion of the
delivered events are written in one transaction at the end of the batch; failures are
recorded after it, event by event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Sequence
from uuid import UUID

from facta.application import Mediator
from facta.application.ports.outbox import DeliverySettings, Outbox, PendingEvent
from facta.application.receipts import DeferredReceipts
from facta.domain import DomainEvent
from facta.errors import HandlerFailure

__all__ = ["OutboxRelay"]

_log = logging.getLogger("facta.relay")
_UNSHARED = DeferredReceipts()
"""For a relay made without its application's ``DeferredReceipts``: no handler defers to
it, so every receipt is committed by its handler's own transaction."""


class OutboxRelay:
    """A background service (and an operator's tool) that drains the outbox.

    Add it to an application with ``ApplicationBuilder.add_service(OutboxRelay)``, or get
    it with ``app.get(OutboxRelay)``; call ``drain()`` to deliver everything that is due
    once, from a script or a test. ``deferred`` is the application's ``DeferredReceipts``
    (given by the container): without it, each receipt takes a transaction of its own.
    """

    def __init__(
        self,
        outbox: Outbox,
        mediator: Mediator,
        settings: DeliverySettings,
        deferred: DeferredReceipts = _UNSHARED,
    ) -> None:
        self._outbox = outbox
        self._mediator = mediator
        self._settings = settings
        self._deferred = deferred
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Claim one batch of due events and deliver it; return how many were claimed."""
        return await self._run_batch(stoppable=False)

    async def _run_batch(self, *, stoppable: bool) -> int:
        """One batch; a ``stoppable`` one (the background service's) that is asked to stop
        meanwhile finishes the events in hand and gives the rest back (``Outbox.release``),
        so that stopping takes one event's time and no event waits for its lease to end."""
        batch = await self._outbox.claim(self._settings.batch_size, self._settings.lease)
        if not batch:
            return 0
        outcome = _Outcome(self._stopping if stoppable else None)
        with self._deferred.collecting() as receipts:
            groups = _by_aggregate(batch)
            workers = min(self._settings.concurrency, len(groups))
            if workers <= 1:
                await self._deliver_groups(iter(groups), outcome)
            else:
                queue = iter(groups)  # shared: each worker takes the next aggregate's events
                try:
                    async with asyncio.TaskGroup() as tasks:
                        for _ in range(workers):
                            tasks.create_task(self._deliver_groups(queue, outcome))
                except BaseExceptionGroup as group:  # what a sequential delivery would raise
                    raise group.exceptions[0] from group
        await self._outbox.complete(outcome.delivered, receipts)
        for event, handlers, failures in outcome.failed:
            await self._outbox.record_failures(event, handlers, failures, self._settings.retry)
        if outcome.released:
            await self._outbox.release(outcome.released)
        return len(batch)

    async def drain(self, progress: Callable[[int], None] | None = None) -> int:
        """Deliver batches until none is due; return how many events were claimed.

        ``progress`` is called with the size of each batch, e.g. to advance a progress bar.
        """
        total = 0
        while claimed := await self.run_once():
            total += claimed
            if progress is not None:
                progress(claimed)
        return total

    async def start(self) -> None:
        """Start relaying in the background."""
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="facta-outbox-relay")

    async def stop(self) -> None:
        """Stop after the events in hand, giving back the rest of their batch, and wait."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        idle = self._settings.poll_interval.total_seconds()
        failures = 0
        while not self._stopping.is_set():
            try:
                claimed = await self._run_batch(stoppable=True)
                failures = 0
            except Exception:
                failures += 1
                claimed = 0
                _log.exception("the outbox relay failed (%d in a row); backing off", failures)
            if claimed:
                continue
            delay = idle if failures == 0 else min(idle * 2**failures, 60.0)
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _deliver_groups(
        self, groups: Iterator[list[PendingEvent]], outcome: _Outcome
    ) -> None:
        for group in groups:
            for pending in group:
                if outcome.stopping is not None and outcome.stopping.is_set():
                    outcome.released.append(pending.event.event_id)
                    continue
                await self._deliver(pending, outcome)

    async def _deliver(self, pending: PendingEvent, outcome: _Outcome) -> None:
        """Run the missing handlers of one event, and note whether it is now delivered."""
        event = pending.event
        handlers = outcome.handlers.get(type(event))
        if handlers is None:
            handlers = outcome.handlers[type(event)] = self._mediator.handler_names(type(event))
        missing = [handler for handler in handlers if handler not in pending.settled]
        if not missing:
            outcome.delivered.append(event.event_id)
            return
        with self._mediator.instrumentation.delivering(event, missing):
            report = await self._mediator.dispatch(event, only=missing, durable=True)
        if report.ok:
            outcome.delivered.append(event.event_id)
        else:
            outcome.failed.append((event, handlers, report.failures))


class _Outcome:
    """What the delivery of one batch came to."""

    __slots__ = ("delivered", "failed", "handlers", "released", "stopping")

    def __init__(self, stopping: asyncio.Event | None) -> None:
        self.stopping = stopping  # set: the events not yet started are given back
        self.handlers: dict[type[DomainEvent], tuple[str, ...]] = {}  # by event type
        self.delivered: list[UUID] = []
        self.failed: list[tuple[DomainEvent, Sequence[str], Sequence[HandlerFailure]]] = []
        self.released: list[UUID] = []


def _by_aggregate(batch: Sequence[PendingEvent]) -> list[list[PendingEvent]]:
    """The batch's events grouped by aggregate, in order of first appearance; events of no
    aggregate stand alone."""
    groups: dict[object, list[PendingEvent]] = {}
    for pending in batch:
        event = pending.event
        groups.setdefault(event.aggregate_id or event.event_id, []).append(pending)
    return list(groups.values())
