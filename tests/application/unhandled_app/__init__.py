"""A package with two commands that nothing handles, one that is handled, and a base."""

from __future__ import annotations

from facta import Command, CommandHandler, Query


class OrderCommand(Command[None]):
    """A shared base of commands: not a command of its own."""

    order_id: str


class Refund(OrderCommand):
    pass


class Forgotten(OrderCommand):
    pass


class Lost(Query[int]):
    pass


class RefundHandler(CommandHandler[Refund, None]):
    async def handle(self, command: Refund) -> None:
        return None
