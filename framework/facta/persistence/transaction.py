"""The transaction behavior: commit the operation's unit of work when its handler returns."""

from __future__ import annotations

from facta.application import NextStep, OperationContext, OperationScope, PipelineBehavior
from facta.persistence.unit_of_work import UnitOfWork

__all__ = ["TransactionBehavior"]


class TransactionBehavior(PipelineBehavior):
    """Commits the unit of work the handler used when it returns; rolls back when it raises.

    A handler that never asked for a unit of work costs nothing here. The commit
    dispatches the recorded events, so a command's ``send`` returns after its event
    handlers ran.
    """

    def __init__(self, scope: OperationScope) -> None:
        self._scope = scope

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        try:
            result = await call_next()
        except BaseException:
            unit_of_work = self._scope.peek(UnitOfWork)
            if isinstance(unit_of_work, UnitOfWork):
                await unit_of_work.rollback()
            raise
        unit_of_work = self._scope.peek(UnitOfWork)
        if isinstance(unit_of_work, UnitOfWork):
            await unit_of_work.commit()
        return result
