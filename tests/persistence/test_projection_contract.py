"""Projections, proven on every back-end (the ``backend`` fixture).

Guarantee 7 is attacked here: a projection applies each event once, and an aggregate's
events in version order, none skipped, however the in-process dispatch, redeliveries and
relay workers race. Inline projections commit atomically with the command.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from conftest import Backend
from facta import (
    Application,
    ConcurrencyError,
    OutboxRelay,
    Projection,
    RebuildRefused,
    UnitOfWork,
    View,
)
from facta.hosting.rebuild import ProjectionRebuilder
from facta.persistence import DeliveryStatus, Outbox, ProjectionState, ProjectionStore
from support.bank import Account, Deposit, MoneyDeposited, OpenAccount, Transfer
from support.statements import (
    AccountStatements,
    Activity,
    BankActivity,
    Gates,
    Statement,
    statements_builder,
)


@pytest.fixture
def gates() -> Gates:
    return Gates()


@pytest.fixture
async def app(backend: Backend, gates: Gates) -> Application:
    application = statements_builder(backend.persistence(), gates).build()
    await application.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    return application


async def statement(app: Application, account_id: str = "ann") -> Statement | None:
    async with app.operation():
        return await app.get(UnitOfWork).views(Statement).get(account_id)


async def activity(app: Application) -> int:
    async with app.operation():
        found = await app.get(UnitOfWork).views(Activity).get("bank")
    return 0 if found is None else found.events


async def versions(app: Application, account_id: str = "ann") -> list[int]:
    async with app.operation():
        events = [
            pending.event
            for pending in await app.get(ProjectionStore).history(  # type: ignore[type-abstract]
                "",
                ["AccountOpened", "MoneyDeposited", "MoneyWithdrawn"],
                0,
                10_000,
                everything=True,
            )
        ]
    return [event.aggregate_version for event in events if event.aggregate_id == account_id]


def relay(app: Application) -> OutboxRelay:
    return app.get(OutboxRelay)


async def test_an_async_projection_applies_each_event_after_the_commit(app: Application) -> None:
    await app.mediator.send(Deposit(account_id="ann", amount=5))
    await app.mediator.send(Deposit(account_id="ann", amount=7))

    found = await statement(app)

    assert found is not None and (found.balance, found.applied) == (12, [1, 2, 3])


async def test_an_inline_projection_commits_with_the_command(app: Application) -> None:
    await app.mediator.send(Deposit(account_id="ann", amount=5))

    assert await activity(app) == 2  # opened + deposited, no relay needed


async def test_a_command_refused_by_the_domain_writes_no_inline_view(app: Application) -> None:
    await app.mediator.send(OpenAccount(account_id="bob", owner="bob"))
    before = await activity(app)

    with pytest.raises(Exception, match="cannot withdraw"):
        await app.mediator.send(Transfer(source="ann", target="bob", amount=100))

    assert await activity(app) == before


async def test_an_inline_projection_that_fails_fails_the_command_and_writes_nothing(
    backend: Backend,
) -> None:
    class Scratch(View):
        pass

    class Broken(Projection):
        lifecycle = BankActivity.lifecycle
        views = (Scratch,)

        async def deposited(self, event: MoneyDeposited) -> None:
            raise RuntimeError("the inline projection broke")

    app = statements_builder(backend.persistence()).add_handler(Broken).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    events_before = await activity(app)

    with pytest.raises(RuntimeError, match="inline projection broke"):
        await app.mediator.send(Deposit(account_id="ann", amount=5))

    async with app.operation():
        account = await app.get(UnitOfWork).repository(Account).get("ann")
    assert (account.balance, account.version) == (0, 1)
    assert await activity(app) == events_before
    assert await versions(app) == [1]


async def test_two_commands_racing_on_one_inline_view_never_lose_an_update(
    app: Application,
) -> None:
    owners = [f"owner-{n}" for n in range(6)]

    async def open_with_retries(owner: str) -> None:
        for _ in range(50):
            try:
                await app.mediator.send(OpenAccount(account_id=owner, owner=owner))
                return
            except ConcurrencyError:
                await asyncio.sleep(0)
        raise AssertionError(f"{owner} never committed")

    await asyncio.gather(*(open_with_retries(owner) for owner in owners))

    assert await activity(app) == 1 + len(owners)


async def test_an_event_that_overtakes_its_predecessor_waits_for_it(
    app: Application, gates: Gates
) -> None:
    held = gates.hold(1)
    first = asyncio.create_task(app.mediator.send(Deposit(account_id="ann", amount=1)))
    while (await versions(app))[-1:] != [2]:  # committed; its projection is held
        await asyncio.sleep(0.001)

    await app.mediator.send(Deposit(account_id="ann", amount=2))  # version 3 races past
    early = await statement(app)
    held.set()
    await first
    await relay(app).drain()

    assert early is not None and early.applied == [1]  # version 3 did not jump the queue
    found = await statement(app)
    assert found is not None and (found.applied, found.balance) == ([1, 2, 3], 3)


async def test_waiting_for_a_predecessor_is_not_a_failed_attempt(
    app: Application, gates: Gates
) -> None:
    gates.fail(1, times=1)
    await app.mediator.send(Deposit(account_id="ann", amount=1))  # fails in the fast path
    await app.mediator.send(Deposit(account_id="ann", amount=2))  # must wait for it

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    waiting = [
        record
        for record in await outbox.deliveries(DeliveryStatus.FAILED)
        if record.event_type == "MoneyDeposited" and "before" in record.last_error
    ]
    await relay(app).drain()

    assert [record.attempts for record in waiting] == [0]
    found = await statement(app)
    assert found is not None and found.applied == [1, 2, 3]


async def test_concurrent_commands_on_one_aggregate_are_projected_in_version_order(
    app: Application,
) -> None:
    async def deposit(amount: int) -> None:
        for _ in range(100):
            try:
                await app.mediator.send(Deposit(account_id="ann", amount=amount))
                return
            except ConcurrencyError:
                await asyncio.sleep(0)
        raise AssertionError("a deposit never committed")

    await asyncio.gather(*(deposit(amount) for amount in range(1, 13)))
    await relay(app).drain()

    found = await statement(app)
    assert found is not None
    assert found.applied == await versions(app) == list(range(1, 14))
    assert found.balance == sum(range(1, 13))


async def test_a_redelivered_event_is_not_applied_twice(app: Application, backend: Backend) -> None:
    await app.mediator.send(Deposit(account_id="ann", amount=5))
    second = statements_builder(backend.persistence()).build()  # another process, same database

    async with second.operation():
        events = await second.get(ProjectionStore).history(  # type: ignore[type-abstract]
            "", ["MoneyDeposited"], 0, 10, everything=True
        )
    report = await second.mediator.dispatch(events[0].event, durable=True)

    assert report.succeeded == ()  # the receipt refused the second run
    found = await statement(app)
    assert found is not None and (found.balance, found.applied) == (5, [1, 2])


async def test_events_of_a_process_that_died_after_commit_are_projected_by_the_relay(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facta.persistence import EventFlow, OutboxEntry

    crashed = statements_builder(backend.persistence()).build()

    async def die(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None  # the process is gone: nothing after the commit happens

    monkeypatch.setattr(EventFlow, "dispatch", die)
    await crashed.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    for amount in (1, 2, 3):
        await crashed.mediator.send(Deposit(account_id="ann", amount=amount))
    monkeypatch.undo()

    restarted = statements_builder(backend.persistence()).build()
    assert await statement(restarted) is None
    await relay(restarted).drain()

    found = await statement(restarted)
    assert found is not None and (found.applied, found.balance) == ([1, 2, 3, 4], 6)


async def test_two_relays_project_each_event_once_and_in_order(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from facta.persistence import EventFlow, OutboxEntry

    writer = statements_builder(backend.persistence()).build()

    async def later(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None  # leave everything to the relays

    monkeypatch.setattr(EventFlow, "dispatch", later)
    for owner in ("ann", "bob", "cid"):
        await writer.mediator.send(OpenAccount(account_id=owner, owner=owner))
        for amount in range(1, 6):
            await writer.mediator.send(Deposit(account_id=owner, amount=amount))
    monkeypatch.undo()
    one, two = (statements_builder(backend.persistence()).build() for _ in range(2))

    for _ in range(20):
        await asyncio.gather(relay(one).drain(), relay(two).drain())
        if (await one.get(Outbox).stats()).pending == 0:  # type: ignore[type-abstract]
            break

    for owner in ("ann", "bob", "cid"):
        found = await statement(writer, owner)
        assert found is not None and (found.applied, found.balance) == ([1, 2, 3, 4, 5, 6], 15)


async def test_a_failing_projection_is_retried_then_dead_lettered_without_holding_others(
    app: Application, gates: Gates
) -> None:
    gates.fail(9, times=100)
    await app.mediator.send(OpenAccount(account_id="bob", owner="bob"))
    await app.mediator.send(Deposit(account_id="ann", amount=9))
    await app.mediator.send(Deposit(account_id="bob", amount=4))
    await relay(app).drain()

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    dead = await outbox.deliveries(DeliveryStatus.DEAD)
    assert [(record.handler.rsplit(".", 1)[-1], record.attempts) for record in dead] == [
        ("AccountStatements", 5)
    ]
    bob = await statement(app, "bob")
    assert bob is not None and bob.balance == 4
    status = {s.name.rsplit(".", 1)[-1]: s for s in await ProjectionRebuilder(app).status()}
    assert status["AccountStatements"].lag.dead_letters == 1


async def test_a_rebuild_replays_the_retained_events_into_fresh_views(app: Application) -> None:
    for amount in (1, 2, 3):
        await app.mediator.send(Deposit(account_id="ann", amount=amount))
    async with app.operation():  # a view nobody's events justify
        unit_of_work = app.get(UnitOfWork)
        unit_of_work.views(Statement).put(Statement(id="stray", owner="nobody"))
        await unit_of_work.commit()
    rebuilder = ProjectionRebuilder(app, batch_size=2)

    report = await rebuilder.rebuild("AccountStatements", drain=timedelta(0))
    inline = await rebuilder.rebuild("BankActivity")

    assert (report.events, inline.events) == (4, 4)
    assert await statement(app, "stray") is None
    found = await statement(app)
    assert found is not None and (found.applied, found.balance) == ([1, 2, 3, 4], 6)
    assert await activity(app) == 4
    assert all(s.state is ProjectionState.LIVE for s in await rebuilder.status())


async def test_events_that_arrive_during_a_rebuild_wait_and_are_applied_after(
    app: Application,
) -> None:
    store: ProjectionStore = app.get(ProjectionStore)  # type: ignore[type-abstract]
    name = f"{AccountStatements.__module__}.{AccountStatements.__qualname__}"
    await store.set_state(name, ProjectionState.PAUSED)
    await app.mediator.send(Deposit(account_id="ann", amount=8))
    paused = await statement(app)
    await store.set_state(name, ProjectionState.LIVE)
    await relay(app).drain()

    assert paused is not None and paused.balance == 0
    found = await statement(app)
    assert found is not None and (found.applied, found.balance) == ([1, 2], 8)


async def test_a_rebuild_is_refused_once_the_outbox_was_pruned(app: Application) -> None:
    await app.mediator.send(Deposit(account_id="ann", amount=1))
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    from facta import utc_now

    assert await outbox.prune(utc_now() + timedelta(hours=1)) > 0

    with pytest.raises(RebuildRefused, match="outbox was pruned"):
        await ProjectionRebuilder(app).rebuild("AccountStatements", drain=timedelta(0))
    found = await statement(app)
    assert found is not None and found.balance == 1  # the live views are untouched
