"""Read models of the test bank: an asynchronous and an inline projection, and their views.

``AccountStatements`` (asynchronous) keeps one ``Statement`` per account with the
version of every event it applied, so a test can see whether an event was skipped,
applied twice or out of order. ``BankActivity`` (inline) counts every account event in
one ``Activity`` view fed by every account, committed with the command.
``Gates`` lets a test hold the projection on one event while others race past it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import injector
from pydantic import Field

from facta import (
    ApplicationBuilder,
    Lifecycle,
    OutboxRelay,
    Projection,
    UnitOfWork,
    View,
)
from support.bank import HANDLERS, AccountEvent, AccountOpened, Journal, MoneyDeposited
from support.tally import FAST_RETRIES


class Statement(View):
    """One account as the asynchronous projection sees it."""

    indexes = ("owner", "balance")

    owner: str
    balance: int = 0
    applied: list[int] = Field(default_factory=list)


class Activity(View):
    """How many account events the bank recorded (one view, fed by every account)."""

    events: int = 0


@dataclass
class Gates:
    """Holds the asynchronous projection before it applies the deposit of ``amount``."""

    held: dict[int, asyncio.Event] = field(default_factory=dict)
    failures: dict[int, int] = field(default_factory=dict)

    def hold(self, amount: int) -> asyncio.Event:
        gate = self.held[amount] = asyncio.Event()
        return gate

    def fail(self, amount: int, times: int) -> None:
        self.failures[amount] = times


class AccountStatements(Projection):
    """Keeps each account's ``Statement`` after the commit, through the outbox."""

    views = (Statement,)

    def __init__(self, uow: UnitOfWork, gates: Gates) -> None:
        self.statements = uow.views(Statement)
        self.gates = gates

    async def opened(self, event: AccountOpened) -> None:
        self.statements.put(
            Statement(id=event.aggregate_id, owner=event.owner, applied=[event.aggregate_version])
        )

    async def deposited(self, event: MoneyDeposited) -> None:
        gate = self.gates.held.get(event.amount)
        if gate is not None:
            await gate.wait()
        if self.gates.failures.get(event.amount, 0) > 0:
            self.gates.failures[event.amount] -= 1
            raise RuntimeError(f"the projection failed on the deposit of {event.amount}")
        statement = await self.statements.require(event.aggregate_id)
        statement.balance += event.amount
        statement.applied.append(event.aggregate_version)
        self.statements.put(statement)


class BankActivity(Projection):
    """Counts every account event inline, in the unit of work that records it."""

    lifecycle = Lifecycle.INLINE
    views = (Activity,)

    def __init__(self, uow: UnitOfWork) -> None:
        self.activity = uow.views(Activity)

    async def any_event(self, event: AccountEvent) -> None:
        activity = await self.activity.get("bank") or Activity(id="bank")
        activity.events += 1
        self.activity.put(activity)


def statements_builder(
    persistence: injector.Module, gates: Gates | None = None
) -> ApplicationBuilder:
    """The bank with both projections, fast retries, no grace period, and a relay."""
    journal, shared = Journal(), gates if gates is not None else Gates()

    def bind(binder: injector.Binder) -> None:
        binder.bind(Journal, to=journal)
        binder.bind(Gates, to=shared)

    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS, AccountStatements, BankActivity)
        .add_module(bind)
        .use_persistence(persistence)
        .delivery(FAST_RETRIES)
        .add_service(OutboxRelay)
    )
