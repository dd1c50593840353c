"""The relay's batches, proven on every back-end: aggregates delivered concurrently keep
each aggregate's order, receipts deferred to the batch's transaction are recorded (and
lost only with a batch that never completed, whose handlers then run again), and a
failure recorded after the batch keeps its backoff."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from datetime import timedelta
from uuid import uuid4

import injector
import pytest

from conftest import Backend
from facta import Application, ApplicationBuilder, DomainEventHandler, PersistenceError, UnitOfWork
from facta.application.receipts import DeferredReceipts
from facta.integration import OutboxRelay
from facta.persistence import (
    DeliverySettings,
    EventFlow,
    Outbox,
    OutboxEntry,
    Receipt,
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

SETTINGS = DeliverySettings(
    retry=RetryPolicy(max_attempts=3, first_delay=timedelta(minutes=5), jitter=0),
    grace=timedelta(0),
    lease=timedelta(seconds=30),
    batch_size=200,
    concurrency=8,
)
ACCOUNTS = 6
DEPOSITS = 5


class Seen:
    """What the handlers saw, and which of them fail."""

    def __init__(self) -> None:
        self.amounts: dict[str, list[int]] = defaultdict(list)
        self.runs: dict[str, int] = defaultdict(int)
        self.failing: set[str] = set()


class Recorder(DomainEventHandler[MoneyDeposited]):
    """Writes nothing: its receipt is deferred to the batch."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def handle(self, event: MoneyDeposited) -> None:
        self.seen.runs["recorder"] += 1
        self.seen.amounts[event.aggregate_id].append(event.amount)


class Flaky(DomainEventHandler[MoneyDeposited]):
    """Writes nothing, and fails when told to."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def handle(self, event: MoneyDeposited) -> None:
        self.seen.runs["flaky"] += 1
        if "flaky" in self.seen.failing:
            raise RuntimeError("flaky is down")


class Bookkeeper(DomainEventHandler[MoneyDeposited]):
    """Writes through its unit of work: its receipt commits with its writes."""

    def __init__(self, uow: UnitOfWork, seen: Seen) -> None:
        self.accounts = uow.repository(Account)
        self.seen = seen

    async def handle(self, event: MoneyDeposited) -> None:
        self.seen.runs["bookkeeper"] += 1
        account = await self.accounts.get(event.aggregate_id)
        account.owner = f"{account.owner}+"


def build(
    backend: Backend, seen: Seen, *handlers: type[object], lease: timedelta = SETTINGS.lease
) -> Application:
    def bind(binder: injector.Binder) -> None:
        binder.bind(Seen, to=seen)

    return (
        ApplicationBuilder()
        .add_handler(OpenAccountHandler, DepositHandler, *handlers)
        .add_module(bind)
        .use_persistence(backend.persistence())
        .delivery(dataclasses.replace(SETTINGS, lease=lease))
        .build()
    )


async def commit_without_dispatch(app: Application, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deposits on several accounts whose in-process dispatch never happens (a crash):
    the relay delivers them all, in batches."""

    async def die(self: EventFlow, entries: list[OutboxEntry]) -> None:
        return None

    with monkeypatch.context() as patched:
        patched.setattr(EventFlow, "dispatch", die)
        for account in range(ACCOUNTS):
            await app.mediator.send(OpenAccount(account_id=f"a{account}", owner="ann"))
        for amount in range(1, DEPOSITS + 1):
            for account in range(ACCOUNTS):
                await app.mediator.send(Deposit(account_id=f"a{account}", amount=amount))


def assert_every_account_saw_its_deposits_in_order(seen: Seen) -> None:
    expected = list(range(1, DEPOSITS + 1))
    assert {account: seen.amounts[f"a{account}"] for account in range(ACCOUNTS)} == {
        account: expected for account in range(ACCOUNTS)
    }


@pytest.fixture
def seen() -> Seen:
    return Seen()


async def test_concurrent_delivery_keeps_each_aggregates_events_in_order(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(backend, seen, Recorder)
    await commit_without_dispatch(app, monkeypatch)

    assert await app.get(OutboxRelay).drain() == ACCOUNTS * DEPOSITS

    assert_every_account_saw_its_deposits_in_order(seen)


async def test_deferred_receipts_are_recorded_and_the_handlers_not_run_again(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(backend, seen, Recorder)
    await commit_without_dispatch(app, monkeypatch)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    pending = await outbox.pending(limit=100)

    await app.get(OutboxRelay).drain()

    name = app.mediator.handler_names(MoneyDeposited)[0]
    deposits = [each.event for each in pending if isinstance(each.event, MoneyDeposited)]
    assert [await outbox.is_delivered(event.event_id, name) for event in deposits] == [True] * len(
        deposits
    )
    assert await outbox.replay() == 0
    assert await app.get(OutboxRelay).drain() == 0
    assert seen.runs["recorder"] == ACCOUNTS * DEPOSITS


async def test_a_batch_that_never_completed_runs_only_the_handlers_that_wrote_nothing_again(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(backend, seen, Recorder, Bookkeeper, lease=timedelta(0))
    await commit_without_dispatch(app, monkeypatch)
    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    relay = app.get(OutboxRelay)

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died before the batch's transaction")

    with monkeypatch.context() as patched:
        patched.setattr(type(outbox), "complete", crash)
        with pytest.raises(RuntimeError, match="died"):
            await relay.run_once()
    while await relay.run_once():  # the lease is over: another worker takes the batch
        pass  # batch by batch: with no lease, a batch claimed beside it would take it too

    assert seen.runs["recorder"] == 2 * ACCOUNTS * DEPOSITS  # its receipts were lost
    assert seen.runs["bookkeeper"] == ACCOUNTS * DEPOSITS  # committed with its writes
    assert (await outbox.stats()).pending == 0


async def test_a_failure_recorded_after_the_batch_keeps_its_backoff(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(backend, seen, Recorder, Flaky)
    seen.failing = {"flaky"}
    await commit_without_dispatch(app, monkeypatch)
    relay = app.get(OutboxRelay)

    await relay.drain()
    runs = dict(seen.runs)
    assert await relay.drain() == 0  # not due again for 5 minutes
    assert dict(seen.runs) == runs

    outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
    assert (await outbox.stats()).pending == ACCOUNTS * DEPOSITS
    recorder = app.mediator.handler_names(MoneyDeposited)[0]
    [one, *_] = [each for each in await outbox.pending(limit=100) if each.settled]
    assert one.settled == frozenset({recorder})


def test_receipts_are_deferred_only_while_a_batch_collects_them() -> None:
    deferred = DeferredReceipts()
    receipt = Receipt(uuid4(), "handler")

    with deferred.collecting() as receipts:
        assert deferred.defer(receipt) is True

    assert receipts == [receipt]
    assert deferred.defer(receipt) is False  # no batch in progress: written at once


async def test_an_error_of_one_concurrent_delivery_is_raised_as_itself(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = build(backend, seen, Recorder)
    await commit_without_dispatch(app, monkeypatch)

    async def broken(*args: object, **kwargs: object) -> None:
        raise PersistenceError("the database went away")

    monkeypatch.setattr(app.mediator, "dispatch", broken)

    with pytest.raises(PersistenceError, match="went away"):
        await app.get(OutboxRelay).run_once()


class Overlapping(DomainEventHandler[MoneyDeposited]):
    """Records which deposits are in delivery at once, and holds account a0's first deposit
    (in the first batch of 4) until account a4's first (in the second) has been delivered."""

    def __init__(self, seen: Seen, probe: OverlapProbe) -> None:
        self.seen = seen
        self.probe = probe

    async def handle(self, event: MoneyDeposited) -> None:
        probe = self.probe
        account = event.aggregate_id
        assert account not in probe.in_delivery, f"{account} is delivered twice at once"
        probe.in_delivery.add(account)
        probe.most = max(probe.most, len(probe.in_delivery))
        try:
            if (account, event.amount) == ("a0", 1):
                await asyncio.wait_for(probe.later_batch_delivered.wait(), timeout=5)
            await asyncio.sleep(0.001)
            if account == "a4":
                probe.later_batch_delivered.set()
            self.seen.amounts[account].append(event.amount)
        finally:
            probe.in_delivery.discard(account)


class OverlapProbe:
    """What ``Overlapping`` observes."""

    def __init__(self) -> None:
        self.in_delivery: set[str] = set()
        self.most = 0
        self.later_batch_delivered = asyncio.Event()


def overlapping_app(backend: Backend, seen: Seen, probe: OverlapProbe) -> Application:
    """Batches of 4 deposits, 3 aggregates at once: 30 deposits take 8 batches."""

    def bind(binder: injector.Binder) -> None:
        binder.bind(Seen, to=seen)
        binder.bind(OverlapProbe, to=probe)

    return (
        ApplicationBuilder()
        .add_handler(OpenAccountHandler, DepositHandler, Overlapping)
        .add_module(bind)
        .use_persistence(backend.persistence())
        .delivery(dataclasses.replace(SETTINGS, batch_size=4, concurrency=3))
        .build()
    )


async def test_the_next_batch_is_delivered_while_the_last_events_of_one_are_in_hand(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = OverlapProbe()
    app = overlapping_app(backend, seen, probe)
    if not app.outbox.claims_overlap:
        pytest.skip("this back-end's relay delivers one batch after the other")
    await commit_without_dispatch(app, monkeypatch)

    await app.get(OutboxRelay).drain()

    assert probe.later_batch_delivered.is_set()  # a0's first deposit did not hold the rest
    assert seen.amounts["a0"] == list(range(1, DEPOSITS + 1))


async def test_overlapping_batches_keep_each_aggregates_order_and_the_concurrency(
    backend: Backend, seen: Seen, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = OverlapProbe()
    probe.later_batch_delivered.set()  # nothing held back
    app = overlapping_app(backend, seen, probe)
    await commit_without_dispatch(app, monkeypatch)

    assert await app.get(OutboxRelay).drain() == ACCOUNTS * DEPOSITS

    assert_every_account_saw_its_deposits_in_order(seen)
    assert probe.most <= 3
