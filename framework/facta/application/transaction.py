"""The transaction behavior: commit the operation's unit of work when its handler returns."""

from __future__ import annotations

from facta.application import NextStep, OperationContext, OperationScope, PipelineBehavior
from facta.application.ports.outbox import Receipt
from facta.application.ports.unit_of_work import UnitOfWork
from facta.application.receipts import DeferredReceipts

__all__ = ["TransactionBehavior"]


class TransactionBehavior(PipelineBehavior):
    """Commits the unit of work the handler used when it returns; rolls back when it raises.

    A command handler that never asked for a unit of work costs nothing here. The commit
    dispatches the recorded events, so a command's ``send`` returns after its event
    handlers ran. For an event from the outbox, the handler's receipt is committed with
    its writes, so its success is recorded exactly once; an integration event's receipt
    is its inbox key (``context.message_id``), the same way. A handler that never asked
    for a unit of work has nothing to commit it with: while the relay delivers a batch its
    receipt joins the batch's transaction (``DeferredReceipts``), otherwise it is
    committed alone.
    """

    def __init__(self, scope: OperationScope, deferred: DeferredReceipts | None = None) -> None:
        self._scope = scope
        self._deferred = deferred

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        try:
            result = await call_next()
        except BaseException:
            unit_of_work = self._scope.peek(UnitOfWork)  # type: ignore[type-abstract]
            if unit_of_work is not None:
                await unit_of_work.rollback()
            raise
        unit_of_work = self._scope.peek(UnitOfWork)  # type: ignore[type-abstract]
        if context.durable:
            # the handler's success is recorded with its writes, or alone if it wrote nothing;
            # the receipt's key is the event's id (outbox) or its inbox key (ingestion)
            receipt = Receipt(context.message_id, context.handler)
            if unit_of_work is None:
                if self._deferred is not None and self._deferred.defer(receipt):
                    return result
                unit_of_work = self._scope.injector.get(UnitOfWork)  # type: ignore[type-abstract]
            await unit_of_work.commit(receipt=receipt)
        elif unit_of_work is not None:
            await unit_of_work.commit()
        return result
