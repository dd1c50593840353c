"""Durable delivery (guarantee 3), proven on every back-end: every handler of a committed
event runs to success at least once or the event is dead-lettered and visible, and a
handler that succeeded is not run again for the same event."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta
from typing import cast
from uuid import UUID

import injector
import pytest

from conftest import Backend
from facta import (
    AlreadyDelivered,
    Application,
    ApplicationBuilder,
    DomainEventHandler,
    PermanentFailure,
    UnitOfWork,
    utc_now,
)
from facta.integration import OutboxRelay
from facta.persistence import (
    DECODING,
    DeliverySettings,
    DeliveryStatus,
    EventFlow,
    Outbox,
    OutboxEntry,
    RetryPolicy,
)
from support.bank import (
    Account,
    Deposit,
    DepositHandler,
    MoneyDeposited,
    OpenAccount,
    OpenAccountHandler,
)

IMMEDIATE = DeliverySettings(
    retry=RetryPolicy(max_attempts=3, first_delay=timedelta(0), jitter=0),
    grace=timedelta(0),
    lease=timedelta(seconds=30),
    batch_size=50,
)


class Effects:
    """The side effects of one test's handlers, and switches to make them fail."""

    def __init__(self) -> None:
        self.runs: Counter[tuple[str, str]] = Counter()
        self.failing: set[str] = set()
        self.failure_rate = 0.0
        self.rng = random.Random(7)
        self.seen: dict[str, MoneyDeposited] = {}

    def run(self, handler: str, event: MoneyDeposited) -> None:
        self.seen[str(event.event_id)] = event
        if handler in self.failing or self.rng.random() < self.failure_rate:
            raise RuntimeError(f"{handler} is down")
        self.runs[(handler, str(event.event_id))] += 1


class Ledger(DomainEventHandler[MoneyDeposited]):
    def __init__(self, effects: Effects) -> None:
        self.effects = effects

    async def handle(self, event: MoneyDeposited) -> None:
        self.effects.run("ledger", event)


class Mailer(DomainEventHandler[MoneyDeposited]):
    def __init__(self, effects: Effects) -> None:
        self.effects = effects

    async def handle(self, event: MoneyDeposited) -> None:
        self.effects.run("mailer", event)


class Bonus(DomainEventHandler[MoneyDeposited]):
    """Writes through its unit of work: its receipt is committed with its writes."""

    def __init__(self, uow: UnitOfWork, effects: Effects) -> None:
        self.accounts = uow.repository(Account)
        self.effects = effects

    async def handle(self, event: MoneyDeposited) -> None:
        self.effects.run("bonus", event)
        account = await self.accounts.get(event.aggregate_id)
        account.owner = f"{account.owner}+"


def build(backend: Backend, effects: Effects, *handlers: type[object]) -> Application:
    def bind(binder: injector.Binder) -> None:
        binder.bind(Effects, to=effects)

    return (
        ApplicationBuilder()
        .add_handler(OpenAccountHandler, DepositHandler, *handlers)
        .add_module(bind)
        .use_persistence(backend.persistence())
        .delivery(IMMEDIATE)
        .add_service(OutboxRelay)
        .build()
    )


@pytest.fixture
def effects() -> Effects:
    return Effects()


def relay(app: Application) -> OutboxRelay:
    return app.get(OutboxRelay)


async def deposit(app: Application, amount: int = 1) -> None:
    await app.mediator.send(Deposit(account_id="ann", amount=amount))


@pytest.fixture
async def app(backend: Backend, effects: Effects) -> Application:
    application = build(backend, effects, Ledger, Mailer)
    await application.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    return application


async def test_an_event_whose_handlers_all_succeed_is_delivered_at_once(
    app: Application, effects: Effects
) -> None:
    await deposit(app)

    stats = await app.get(Outbox).stats()  # type: ignore[type-abstract]
    assert (stats.pending, stats.dead_letters) == (0, 0)
    assert sorted(handler for handler, _ in effects.runs) == ["ledger", "mailer"]


async def test_the_relay_runs_only_the_handler_that_failed(
    app: Application, effects: Effects
) -> None:
    effects.failing = {"mailer"}
    await deposit(app)
    assert (await app.get(Outbox).stats()).pending == 1  # type: ignore[type-abstract]

    effects.failing = set()
    await relay(app).drain()

    assert sorted(effects.runs.values()) == [1, 1]
    assert (await app.get(Outbox).stats()).pending == 0  # type: ignore[type-abstract]


async def test_a_handler_that_keeps_failing_is_dead_lettered_with_its_last_error(
    app: Application, effects: Effects
) -> None:
    effects.failing = {"mailer"}
    await deposit(app)
    await relay(app).drain()

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    dead = await outbox.deliveries(DeliveryStatus.DEAD)
    assert len(dead) == 1
    assert dead[0].handler.endswith("Mailer")
    assert dead[0].attempts == IMMEDIATE.retry.max_attempts
    assert "RuntimeError: mailer is down" in dead[0].last_error
    assert (await outbox.stats()).pending == 0
    assert list(effects.runs) == [("ledger", str(dead[0].event_id))]


async def test_a_replayed_dead_letter_is_delivered_once_the_handler_is_fixed(
    app: Application, effects: Effects
) -> None:
    effects.failing = {"mailer"}
    await deposit(app)
    await relay(app).drain()
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]

    effects.failing = set()
    assert await outbox.replay() == 1
    await relay(app).drain()

    assert await outbox.deliveries(DeliveryStatus.DEAD) == []
    assert sorted(handler for handler, _ in effects.runs) == ["ledger", "mailer"]


async def test_events_committed_by_a_process_that_died_before_dispatch_are_delivered(
    backend: Backend, effects: Effects, monkeypatch: pytest.MonkeyPatch
) -> None:
    crashed = build(backend, effects, Ledger, Mailer)
    await crashed.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    async def die(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None  # the process is gone: nothing after the commit happens

    monkeypatch.setattr(EventFlow, "dispatch", die)
    for _ in range(5):
        await deposit(crashed)
    monkeypatch.undo()
    assert effects.runs == Counter()

    restarted = build(backend, effects, Ledger, Mailer)
    await relay(restarted).drain()

    assert len(effects.runs) == 10 and set(effects.runs.values()) == {1}


async def test_a_second_run_of_a_handler_for_one_event_is_refused_and_its_writes_undone(
    backend: Backend, effects: Effects
) -> None:
    app = build(backend, effects, Bonus)
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    await deposit(app)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    (event,) = effects.seen.values()

    report = await app.mediator.dispatch(event, durable=True)

    assert isinstance(report.failures[0].error, AlreadyDelivered)
    async with app.operation():
        owner = (await app.get(UnitOfWork).repository(Account).get("ann")).owner
    assert owner == "ann+"  # the bonus was applied once
    assert (await outbox.stats()).pending == 0


async def test_a_claimed_event_is_not_handed_to_another_worker_during_its_lease(
    app: Application, effects: Effects
) -> None:
    effects.failing = {"mailer", "ledger"}
    await deposit(app)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]

    first = await outbox.claim(10, timedelta(seconds=30))
    second = await outbox.claim(10, timedelta(seconds=30))

    assert len(first) == 1 and second == []


async def test_pruning_removes_delivered_events_and_keeps_pending_ones(
    app: Application, effects: Effects
) -> None:
    await deposit(app)
    effects.failing = {"mailer"}
    await deposit(app)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    before = await outbox.stats()

    pruned = await outbox.prune(utc_now() + timedelta(seconds=1))

    after = await outbox.stats()
    assert pruned == before.delivered
    assert (after.delivered, after.pending) == (0, 1)


@pytest.mark.parametrize("commands", [pytest.param(1000, id="1000-commands")])  # 30% failing
async def test_random_handler_failures_end_with_every_event_delivered_or_dead_lettered(
    app: Application, effects: Effects, commands: int
) -> None:
    effects.failure_rate = 0.3
    for _ in range(commands):
        await deposit(app)
    for _ in range(IMMEDIATE.retry.max_attempts + 1):
        await relay(app).drain()

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    dead = {
        (d.handler.rsplit(".", 1)[-1].lower(), str(d.event_id))
        for d in await outbox.deliveries(DeliveryStatus.DEAD, limit=10_000)
    }
    assert (await outbox.stats()).pending == 0
    assert set(effects.runs.values()) == {1}  # no success twice
    assert len(effects.seen) == commands
    for event in effects.seen.values():
        for handler in ("ledger", "mailer"):
            key = (handler, str(event.event_id))
            assert (key in effects.runs) != (key in dead)


async def test_pruning_keeps_events_with_dead_letters_visible(
    app: Application, effects: Effects
) -> None:
    effects.failing = {"mailer"}
    await deposit(app)
    await relay(app).drain()
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    assert (await outbox.stats()).dead_letters == 1

    await outbox.prune(utc_now() + timedelta(seconds=1))

    assert (await outbox.stats()).dead_letters == 1
    assert len(await outbox.deliveries(DeliveryStatus.DEAD)) == 1


class Refuses(DomainEventHandler[MoneyDeposited]):
    async def handle(self, event: MoneyDeposited) -> None:
        raise PermanentFailure("the other side said no for good")


async def test_a_permanent_failure_is_dead_lettered_at_the_first_attempt(
    backend: Backend, effects: Effects
) -> None:
    app = build(backend, effects, Refuses)
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    await deposit(app)

    (dead,) = await app.outbox.deliveries(DeliveryStatus.DEAD)
    assert dead.attempts == 1 and "said no for good" in dead.last_error
    assert (await app.outbox.stats()).pending == 0


async def rename_stored_event_type(backend: Backend, event_id: UUID, event_type: str) -> None:
    """Make one stored event unreadable, as a renamed event class does."""
    if backend.engine is not None:
        from facta.persistence.sqlalchemy.schema import outbox

        async with backend.engine.begin() as connection:
            await connection.execute(
                outbox.update().where(outbox.c.event_id == event_id).values(event_type=event_type)
            )
    else:
        from facta.persistence.mongo import MongoPersistence

        store = cast(MongoPersistence, backend.persistence()).store()
        await store.outbox.update_one({"_id": event_id}, {"$set": {"event_type": event_type}})


@pytest.fixture
async def unreadable(database: Backend, effects: Effects) -> tuple[Application, UUID]:
    """Two deposits waiting for a retry of their ledger; the first one cannot be read back."""
    app = build(database, effects, Ledger)
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    effects.failing.add("ledger")
    await deposit(app)
    await deposit(app)
    first = next(iter(effects.seen.values()))
    await rename_stored_event_type(database, first.event_id, "RenamedSinceDeposited")
    return app, first.event_id


async def test_listing_pending_events_leaves_out_an_unreadable_one_and_writes_nothing(
    unreadable: tuple[Application, UUID], caplog: pytest.LogCaptureFixture
) -> None:
    app, broken = unreadable

    pending = await app.outbox.pending()

    assert [type(event.event) for event in pending] == [MoneyDeposited]
    assert pending[0].event.event_id != broken
    assert (await app.outbox.stats()).pending == 2
    assert await app.outbox.deliveries(DeliveryStatus.DEAD) == []
    assert f"outbox event {broken} (RenamedSinceDeposited) cannot be read back" in caplog.text


async def test_claiming_an_unreadable_event_dead_letters_it_visibly(
    unreadable: tuple[Application, UUID],
) -> None:
    app, broken = unreadable

    claimed = await app.outbox.claim(10, timedelta(seconds=30))

    (other,) = claimed
    assert other.event.event_id != broken
    (dead,) = await app.outbox.deliveries(DeliveryStatus.DEAD)
    assert (dead.event_id, dead.handler, dead.event_type) == (
        broken,
        DECODING,
        "RenamedSinceDeposited",
    )
    assert "RenamedSinceDeposited" in dead.last_error
    assert (await app.outbox.stats()).pending == 1


class Gate:
    """Holds the first delivery until the test opens it."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()


class Held(DomainEventHandler[MoneyDeposited]):
    def __init__(self, gate: Gate, effects: Effects) -> None:
        self.gate = gate
        self.effects = effects

    async def handle(self, event: MoneyDeposited) -> None:
        self.gate.entered.set()
        await self.gate.open.wait()
        self.effects.run("held", event)


async def test_a_stopping_relay_finishes_the_event_in_hand_and_gives_the_rest_back(
    backend: Backend, effects: Effects, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate = Gate()
    app = (
        ApplicationBuilder()
        .add_handler(OpenAccountHandler, DepositHandler, Held)
        .add_module(lambda binder: binder.bind(Effects, to=effects))
        .add_module(lambda binder: binder.bind(Gate, to=gate))
        .use_persistence(backend.persistence())
        .delivery(IMMEDIATE)
        .add_service(OutboxRelay)
        .build()
    )
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    async def die(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None

    monkeypatch.setattr(EventFlow, "dispatch", die)
    for _ in range(5):
        await deposit(app)
    monkeypatch.undo()

    await app.start()
    await asyncio.wait_for(gate.entered.wait(), timeout=10)
    stopping = asyncio.create_task(app.stop())
    await asyncio.sleep(0)
    gate.open.set()
    await asyncio.wait_for(stopping, timeout=10)

    assert sum(effects.runs.values()) == 1
    assert (await app.outbox.stats()).pending == 4
    assert len(await app.outbox.claim(10, timedelta(seconds=30))) == 4  # no lease to wait for
