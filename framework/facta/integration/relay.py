"""The outbox relay: delivers what the in-process dispatch after a commit did not.

A handler that raised, or a process that died between commit and dispatch, leaves events
undelivered in the outbox. The relay claims due events under a lease (so several workers
never run one event at once), runs only the handlers that have not yet succeeded or been
dead-lettered, and records the outcome: delivered, or failed and due again after a
backoff, until the retry policy dead-letters the handler.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from facta.application import Mediator
from facta.persistence import DeliverySettings, Outbox, PendingEvent

__all__ = ["OutboxRelay"]

_log = logging.getLogger("facta.relay")


class OutboxRelay:
    """A background service (and an operator's tool) that drains the outbox.

    Add it to an application with ``ApplicationBuilder.add_service(OutboxRelay)``; call
    ``drain()`` to deliver everything that is due once, from a script or a test.
    """

    def __init__(self, outbox: Outbox, mediator: Mediator, settings: DeliverySettings) -> None:
        self._outbox = outbox
        self._mediator = mediator
        self._settings = settings
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        """Claim one batch of due events and deliver it; return how many were claimed."""
        batch = await self._outbox.claim(self._settings.batch_size, self._settings.lease)
        delivered = []
        for pending in batch:
            if await self._deliver(pending):
                delivered.append(pending.event.event_id)
        if delivered:
            await self._outbox.complete(delivered)
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
        """Stop after the batch in hand, and wait for it."""
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _run(self) -> None:
        idle = self._settings.poll_interval.total_seconds()
        failures = 0
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
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

    async def _deliver(self, pending: PendingEvent) -> bool:
        """Run the missing handlers of one event; True when it is now fully delivered."""
        event = pending.event
        handlers = self._mediator.handler_names(type(event))
        missing = [handler for handler in handlers if handler not in pending.settled]
        if not missing:
            return True
        with self._mediator.instrumentation.delivering(event, missing):
            report = await self._mediator.dispatch(event, only=missing, durable=True)
        if report.ok:
            return True
        await self._outbox.record_failures(event, handlers, report.failures, self._settings.retry)
        return False
