"""Deferred receipts: the successes of handlers that wrote nothing, recorded per batch.

A handler that succeeds with an event from the outbox gets a *receipt*, committed with
its writes. A handler that never asked for a unit of work (a publisher, a notifier, a
no-op) has no writes to commit it with, and a transaction of its own per event would
cost more than the handler. While the relay delivers a claimed batch, such receipts are
held here and written by the relay in one transaction with the batch's completion.

The trade-off: a crash after such a handler ran and before its batch's transaction
commits runs the handler again for those events (at-least-once, as for any handler
whose receipt is lost); CloudEvents keep their ids across re-sends, so consumers
de-duplicate. A handler that wrote through its unit of work still commits its receipt
with its writes, exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from facta.application.ports.outbox import Receipt

__all__ = ["DeferredReceipts"]


class DeferredReceipts:
    """Where the receipts of one batch wait for its transaction (one per application).

    The batch in progress lives in a ``ContextVar`` owned by the instance, so the tasks
    of one batch share it, and two applications in one process never do.
    """

    def __init__(self) -> None:
        self._current: ContextVar[list[Receipt] | None] = ContextVar(
            f"facta.deferred_receipts.{id(self)}", default=None
        )

    @contextmanager
    def collecting(self) -> Iterator[list[Receipt]]:
        """Collect the receipts deferred in this context (and the tasks it starts)."""
        receipts: list[Receipt] = []
        token = self._current.set(receipts)
        try:
            yield receipts
        finally:
            self._current.reset(token)

    def defer(self, receipt: Receipt) -> bool:
        """Hold ``receipt`` for the batch in progress; False when none is (write it now)."""
        receipts = self._current.get()
        if receipts is None:
            return False
        receipts.append(receipt)
        return True
