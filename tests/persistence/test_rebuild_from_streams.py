"""Rebuilding a projection from the event store, proven on every back-end (``backend``).

An inline projection whose events all come from event-sourced aggregates is rebuilt from
their streams, which are never pruned: pruning the outbox does not take its history away.
A projection that needs the outbox (asynchronous, or fed by a state-stored aggregate too)
is still refused once the outbox was pruned.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import Backend, bank_builder
from facta import (
    Application,
    Lifecycle,
    Projection,
    RebuildRefused,
    UnitOfWork,
    View,
    utc_now,
)
from facta.hosting.rebuild import ProjectionRebuilder
from facta.persistence import Outbox
from support.bank import MoneyDeposited, OpenAccount
from support.ledger import LEDGER_TYPES, EntryPosted, Ledger, LedgerOpened


class LedgerLine(View):
    """One ledger as the inline projection keeps it."""

    owner: str
    balance: int = 0
    entries: int = 0


class LedgerLines(Projection):
    lifecycle = Lifecycle.INLINE
    views = (LedgerLine,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._lines = uow.views(LedgerLine)

    async def opened(self, event: LedgerOpened) -> None:
        self._lines.put(LedgerLine(id=event.aggregate_id, owner=event.owner))

    async def posted(self, event: EntryPosted) -> None:
        line = await self._lines.require(event.aggregate_id)
        update = {"balance": line.balance + event.amount, "entries": line.entries + 1}
        self._lines.put(line.model_copy(update=update))


class LaterLine(View):
    owner: str


class LaterLines(Projection):
    """Asynchronous: its rebuild needs the outbox's receipts."""

    lifecycle = Lifecycle.ASYNC
    views = (LaterLine,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._lines = uow.views(LaterLine)

    async def opened(self, event: LedgerOpened) -> None:
        self._lines.put(LaterLine(id=event.aggregate_id, owner=event.owner))


class MixedLine(View):
    count: int = 0


class MixedLines(Projection):
    """Inline, but fed by a state-stored aggregate's events too."""

    lifecycle = Lifecycle.INLINE
    views = (MixedLine,)

    def __init__(self, uow: UnitOfWork) -> None:
        self._lines = uow.views(MixedLine)

    async def posted(self, event: EntryPosted) -> None:
        self._lines.put(MixedLine(id=event.aggregate_id))

    async def deposited(self, event: MoneyDeposited) -> None:
        self._lines.put(MixedLine(id=event.aggregate_id))


@pytest.fixture
async def app(backend: Backend) -> Application:
    application = (
        bank_builder(backend)
        .add_handler(*LEDGER_TYPES, LedgerLines, LaterLines, MixedLines)
        .build()
    )
    await application.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    for ledger_id, amounts in (("l-1", (2, 3)), ("l-2", (5,))):
        async with application.operation():
            ledger = Ledger.open(ledger_id, owner=ledger_id.upper())
            for amount in amounts:
                ledger.post(amount)
            application.get(UnitOfWork).repository(Ledger).add(ledger)
            await application.get(UnitOfWork).commit()
    return application


async def lines(app: Application) -> dict[str, tuple[str, int, int]]:
    async with app.operation():
        found = await app.get(UnitOfWork).views(LedgerLine).find()
    return {line.id: (line.owner, line.balance, line.entries) for line in found}


async def test_an_inline_projection_of_event_sourced_aggregates_is_rebuilt_after_a_prune(
    app: Application,
) -> None:
    before = await lines(app)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    assert await outbox.prune(utc_now() + timedelta(hours=1)) > 0
    async with app.operation():  # a view no stored event justifies
        app.get(UnitOfWork).views(LedgerLine).put(LedgerLine(id="stray", owner="nobody"))
        await app.get(UnitOfWork).commit()

    report = await ProjectionRebuilder(app, batch_size=2).rebuild("LedgerLines")

    assert report.events == 5  # two ledgers opened, three entries posted
    assert await lines(app) == before == {"l-1": ("L-1", 5, 2), "l-2": ("L-2", 5, 1)}


@pytest.mark.parametrize("projection", ["LaterLines", "MixedLines"])
async def test_a_projection_that_needs_the_outbox_is_refused_once_it_was_pruned(
    app: Application, projection: str
) -> None:
    rebuilder = ProjectionRebuilder(app)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    assert not rebuilder.reads_streams(rebuilder.find(projection))
    assert await outbox.prune(utc_now() + timedelta(hours=1)) > 0

    with pytest.raises(RebuildRefused, match="outbox was pruned"):
        await rebuilder.rebuild(projection, drain=timedelta(0))
