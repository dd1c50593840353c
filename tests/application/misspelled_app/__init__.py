"""A package whose one handler misspelled ``handle``."""

from __future__ import annotations

from facta import Command, CommandHandler


class Refund(Command[None]):
    order_id: str


class RefundHandler(CommandHandler[Refund, None]):
    async def handel(self, command: Refund) -> None:
        return None
