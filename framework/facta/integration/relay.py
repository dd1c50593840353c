"""The outbox relay: delivers what the in-process dispatch after a commit did not.

A handler that raised, or a process that died between commit and dispatch, leaves events
undelivered in the outbox. The relay claims due events under a lease (so several workers
never run one event at once), runs only the handlers that have not yet succeeded or been
dead-lettered, and records the outcome: delivered, or failed and due again after a
backoff, until the retry policy dead-letters the handler.

A claimed batch is delivered aggregate by aggregate: the events of up to
``DeliverySettings.concurrency`` aggregates at once, each aggregate's in order
(``relay_batch``). The receipts of handlers that wrote nothing (``DeferredReceipts``)
and the completion of the delivered events are written in one transaction at the end of
the batch; failures are recorded after it, event by event. With ``concurrency`` above 1,
and an outbox whose ``claims_overlap`` (a database over the network: not SQLite, not
memory), the next batch is claimed as soon as every aggregate of the current one has
been taken by a worker, so that the database's round trips (the claim, the completion)
overlap the last deliveries instead of leaving the workers idle. Two batches at most are
in delivery: before claiming a third, the relay waits for the older one to end (so that
a slow aggregate holds back one batch, not the outbox). An aggregate's events are still
delivered in order, and never by two workers at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from facta.application import Mediator
from facta.application.ports.outbox import DeliverySettings, Outbox, PendingEvent
from facta.application.receipts import DeferredReceipts
from facta.integration.relay_batch import AggregateOrder, BatchDelivery

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
        batch = await self._claim()
        if batch:
            await self._complete(self._delivery(batch, self._order(), stopping=None))
        return len(batch)

    async def drain(self, progress: Callable[[int], None] | None = None) -> int:
        """Deliver batches until none is due; return how many events were claimed.

        ``progress`` is called with the size of each batch, e.g. to advance a progress bar.
        """
        return await self._deliver_due(stopping=None, progress=progress)

    async def _claim(self) -> Sequence[PendingEvent]:
        return await self._outbox.claim(self._settings.batch_size, self._settings.lease)

    def _order(self) -> AggregateOrder:
        return AggregateOrder(self._settings.concurrency)

    def _delivery(
        self,
        batch: Sequence[PendingEvent],
        order: AggregateOrder,
        stopping: asyncio.Event | None,
    ) -> BatchDelivery:
        """The delivery of ``batch``, beside the others of ``order``."""
        return BatchDelivery(batch, self._mediator, order, self._settings.concurrency, stopping)

    async def _deliver_due(
        self,
        *,
        stopping: asyncio.Event | None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Claim and deliver batches until none is due or ``stopping`` is set; return how
        many events were claimed.

        A ``stopping`` delivery that is asked to stop meanwhile finishes the events in
        hand and gives the rest back (``Outbox.release``), so that stopping takes one
        event's time and no event waits for its lease to end.
        """
        total = 0
        order = self._order()
        overlapping = self._settings.concurrency > 1 and self._outbox.claims_overlap
        older: asyncio.Task[None] | None = None
        newer: asyncio.Task[None] | None = None
        try:
            async with asyncio.TaskGroup() as batches:
                while stopping is None or not stopping.is_set():
                    if older is not None:  # two batches at most: the older one ends first
                        await older
                    batch = await self._claim()
                    if not batch:
                        break
                    total += len(batch)
                    if progress is not None:
                        progress(len(batch))
                    delivery = self._delivery(batch, order, stopping)
                    if not overlapping:
                        await self._complete(delivery)
                        continue
                    older, newer = newer, batches.create_task(self._complete(delivery))
                    await delivery.taken.wait()
        except BaseExceptionGroup as group:  # the first batch's error, as itself
            raise group.exceptions[0] from group
        return total

    async def _complete(self, delivery: BatchDelivery) -> None:
        """Deliver a batch, then record what came of it."""
        with self._deferred.collecting() as receipts:
            await delivery.run()
        await self._outbox.complete(delivery.delivered, receipts)
        for event, handlers, failures in delivery.failed:
            await self._outbox.record_failures(event, handlers, failures, self._settings.retry)
        if delivery.released:
            await self._outbox.release(delivery.released)

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
                claimed = await self._deliver_due(stopping=self._stopping)
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
