"""The delivery of one claimed batch of the outbox, aggregate by aggregate.

A batch's events are grouped by aggregate; up to ``DeliverySettings.concurrency`` workers
take the groups in turn, each delivering its aggregate's events one after the other. The
relay claims its next batch as soon as the last group of a batch has been taken, so two
batches can be in delivery at once; their ``AggregateOrder`` keeps an aggregate's group
in the newer batch waiting until its group in the older one is done, and keeps the
number of groups in delivery, across the batches, at ``concurrency``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from uuid import UUID

from facta.application import Mediator
from facta.application.ports.outbox import PendingEvent
from facta.domain import DomainEvent
from facta.errors import HandlerFailure

__all__ = ["AggregateOrder", "BatchDelivery", "by_aggregate"]


class AggregateOrder:
    """Which aggregates are in delivery, so that one is never delivered by two batches at
    once (a group waits for the group of the same aggregate that started before it), and
    how many groups may be in delivery at once, across batches (``concurrency``).

    One belongs to one run of the relay's loop; the batches it claims share it.
    """

    __slots__ = ("_in_delivery", "slots")

    def __init__(self, concurrency: int = 1) -> None:
        self._in_delivery: dict[object, asyncio.Future[None]] = {}
        self.slots = asyncio.Semaphore(concurrency)

    async def start(self, key: object) -> asyncio.Future[None]:
        """Wait until no earlier group of ``key`` is in delivery; return the future to set
        (with ``finish``) when this group is done."""
        while (earlier := self._in_delivery.get(key)) is not None:
            await asyncio.shield(earlier)
        done = self._in_delivery[key] = asyncio.get_running_loop().create_future()
        return done

    def finish(self, key: object, done: asyncio.Future[None]) -> None:
        """This group of ``key`` is done: a later one may start."""
        if self._in_delivery.get(key) is done:
            del self._in_delivery[key]
        done.set_result(None)


class BatchDelivery:
    """What the delivery of one batch came to, and the delivery itself."""

    __slots__ = (
        "_groups",
        "_mediator",
        "_order",
        "_stopping",
        "_workers",
        "delivered",
        "failed",
        "handlers",
        "released",
        "taken",
    )

    def __init__(
        self,
        batch: Sequence[PendingEvent],
        mediator: Mediator,
        order: AggregateOrder,
        workers: int,
        stopping: asyncio.Event | None,
    ) -> None:
        self._groups: Iterator[tuple[object, list[PendingEvent]]] = iter(by_aggregate(batch))
        self._mediator = mediator
        self._order = order
        self._workers = workers
        self._stopping = stopping  # set: the events not yet started are given back
        self.handlers: dict[type[DomainEvent], tuple[str, ...]] = {}  # by event type
        self.delivered: list[UUID] = []
        self.failed: list[tuple[DomainEvent, Sequence[str], Sequence[HandlerFailure]]] = []
        self.released: list[UUID] = []
        self.taken = asyncio.Event()
        """Set once every group has been taken by a worker: the next batch may start."""

    async def run(self) -> None:
        """Deliver the batch with up to ``workers`` aggregates at once."""
        workers = self._workers
        if workers <= 1:
            await self._work()
            return
        try:
            async with asyncio.TaskGroup() as tasks:
                for _ in range(workers):
                    tasks.create_task(self._work())
        except BaseExceptionGroup as group:  # what a sequential delivery would raise
            raise group.exceptions[0] from group

    async def _work(self) -> None:
        """Take the next aggregate's events until none is left."""
        for key, group in self._groups:
            done = await self._order.start(key)
            try:
                async with self._order.slots:
                    for pending in group:
                        if self._stopping is not None and self._stopping.is_set():
                            self.released.append(pending.event.event_id)
                        else:
                            await self._deliver(pending)
            finally:
                self._order.finish(key, done)
        self.taken.set()

    async def _deliver(self, pending: PendingEvent) -> None:
        """Run the missing handlers of one event, and note whether it is now delivered."""
        event = pending.event
        handlers = self.handlers.get(type(event))
        if handlers is None:
            handlers = self.handlers[type(event)] = self._mediator.handler_names(type(event))
        missing = [handler for handler in handlers if handler not in pending.settled]
        if not missing:
            self.delivered.append(event.event_id)
            return
        with self._mediator.instrumentation.delivering(event, missing):
            report = await self._mediator.dispatch(event, only=missing, durable=True)
        if report.ok:
            self.delivered.append(event.event_id)
        else:
            self.failed.append((event, handlers, report.failures))


def by_aggregate(batch: Sequence[PendingEvent]) -> list[tuple[object, list[PendingEvent]]]:
    """The batch's events grouped by aggregate, in order of first appearance, each with its
    aggregate's key; events of no aggregate stand alone."""
    groups: dict[object, list[PendingEvent]] = {}
    for pending in batch:
        event = pending.event
        groups.setdefault(event.aggregate_id or event.event_id, []).append(pending)
    return list(groups.items())
