"""The MongoDB outbox beyond the contract: racing claimers, its indexes, positions, and
events that cannot be read back."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import cast

import pytest

from conftest import Backend
from facta import Application, ApplicationBuilder, UnitOfWork, utc_now
from facta.persistence import DeliverySettings, DeliveryStatus, EventFlow, Outbox, OutboxEntry
from facta.persistence.mongo import DECODING, MongoPersistence, MongoStore
from facta.persistence.mongo.outbox import _DUE_ORDER, _due
from support.bank import HANDLERS, Account, Deposit, Journal, OpenAccount

LEASE = timedelta(seconds=30)


def store_of(backend: Backend) -> MongoStore:
    return cast(MongoPersistence, backend.persistence()).store()


def bank(backend: Backend) -> Application:
    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS)
        .add_module(lambda binder: binder.bind(Journal, to=Journal()))
        .use_persistence(backend.persistence())
        .delivery(DeliverySettings(grace=timedelta(0)))
        .build()
    )


@pytest.fixture
async def backlog(mongo: Backend, monkeypatch: pytest.MonkeyPatch) -> Application:
    """A bank whose 120 deposits were committed and never dispatched."""
    app = bank(mongo)
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    async def crashed(self: EventFlow, entries: Sequence[OutboxEntry]) -> None:
        return None

    monkeypatch.setattr(EventFlow, "dispatch", crashed)
    for _ in range(120):
        await app.mediator.send(Deposit(account_id="ann", amount=1))
    monkeypatch.undo()
    return app


async def test_racing_claimers_never_claim_one_event_twice(
    backlog: Application, mongo: Backend
) -> None:
    outboxes = [bank(mongo).outbox for _ in range(6)]  # six workers, each its own outbox

    async def work(outbox: Outbox) -> list[str]:
        claimed: list[str] = []
        while batch := await outbox.claim(7, LEASE):
            claimed += [str(pending.event.event_id) for pending in batch]
            await asyncio.sleep(0)
        return claimed

    results = await asyncio.gather(*(work(outbox) for outbox in outboxes))

    everything = [event_id for claimed in results for event_id in claimed]
    assert len(everything) == len(set(everything)) == 120
    assert sum(bool(claimed) for claimed in results) > 1  # they did race


async def test_claims_are_served_by_the_partial_index_of_due_events(
    backlog: Application, mongo: Backend
) -> None:
    store = store_of(mongo)
    plan = await store.client.get_database(store.database_name).command(
        "explain",
        {"find": "facta_outbox", "filter": _due(utc_now()), "sort": dict(_DUE_ORDER), "limit": 7},
    )

    assert "facta_outbox_due" in str(plan["queryPlanner"]["winningPlan"])


async def test_positions_follow_the_commits_and_the_order_of_events_in_one(
    mongo: Backend,
) -> None:
    app = bank(mongo)
    for owner in ("ann", "bob"):
        await app.mediator.send(OpenAccount(account_id=owner, owner=owner))
    async with app.operation():
        uow = app.get(UnitOfWork)
        (await uow.repository(Account).get("ann")).deposit(1)
        (await uow.repository(Account).get("bob")).deposit(2)
        await uow.commit()
    store = store_of(mongo)

    documents = await store.outbox.find({}, sort=[("position", 1)]).to_list(None)

    positions = [document["position"] for document in documents]
    assert positions == list(range(positions[0], positions[0] + 4))
    assert [(d["event_type"], d["aggregate_id"]) for d in documents] == [
        ("AccountOpened", "ann"),
        ("AccountOpened", "bob"),
        ("MoneyDeposited", "ann"),
        ("MoneyDeposited", "bob"),
    ]


async def test_an_event_that_cannot_be_read_back_is_dead_lettered_visibly(
    backlog: Application, mongo: Backend
) -> None:
    store = store_of(mongo)
    broken = await store.outbox.find_one({"delivered_at": None}, sort=[("position", 1)])
    assert broken is not None
    await store.outbox.update_one({"_id": broken["_id"]}, {"$set": {"event_type": "Vanished"}})

    claimed = await backlog.outbox.claim(200, LEASE)

    assert len(claimed) == 119
    (dead,) = await backlog.outbox.deliveries(DeliveryStatus.DEAD)
    assert (dead.event_id, dead.handler, dead.event_type) == (broken["_id"], DECODING, "Vanished")
    assert "Vanished" in dead.last_error
    assert (await backlog.outbox.stats()).dead_letters == 1
