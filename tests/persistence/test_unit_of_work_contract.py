"""The unit of work contract, proven on every back-end (the ``backend`` fixture).

Guarantees 1 (state and events together), 2 (no handler sees an uncommitted event) and
4 (two writers of one version: exactly one wins) are each attacked here.
"""

from __future__ import annotations

import asyncio

import pytest

from conftest import Backend, bank_builder
from facta import (
    Application,
    ConcurrencyError,
    ConfigurationError,
    DomainEventHandler,
    NotFound,
    UnitOfWork,
)
from support.bank import (
    Account,
    AccountOpened,
    Deposit,
    InsufficientFunds,
    Journal,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    Transfer,
)


async def open_accounts(app: Application, *owners: str) -> None:
    for owner in owners:
        await app.mediator.send(OpenAccount(account_id=owner, owner=owner))


async def balance(app: Application, account_id: str) -> int:
    async with app.operation():
        return (await app.get(UnitOfWork).repository(Account).get(account_id)).balance


async def test_a_committed_aggregate_can_be_loaded_by_another_unit_of_work(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann")
    await bank.mediator.send(Deposit(account_id="ann", amount=30))

    assert await balance(bank, "ann") == 30


async def test_loading_an_unknown_id_raises_not_found_naming_type_and_id(bank: Application) -> None:
    async with bank.operation():
        accounts = bank.get(UnitOfWork).repository(Account)
        with pytest.raises(NotFound, match="Account 'nobody' was not found") as raised:
            await accounts.get("nobody")
        assert await accounts.find("nobody") is None
    assert (raised.value.aggregate_type, raised.value.aggregate_id) == ("Account", "nobody")


async def test_a_transfer_commits_both_accounts_and_all_their_events_together(
    bank: Application, journal: Journal
) -> None:
    await open_accounts(bank, "ann", "bob")
    await bank.mediator.send(Deposit(account_id="ann", amount=50))

    await bank.mediator.send(Transfer(source="ann", target="bob", amount=20))

    assert (await balance(bank, "ann"), await balance(bank, "bob")) == (30, 20)
    transfer_events = journal.of("audit")[-2:]
    assert [type(event) for event in transfer_events] == [MoneyWithdrawn, MoneyDeposited]


async def test_a_refused_transfer_writes_neither_account_and_dispatches_nothing(
    bank: Application, journal: Journal
) -> None:
    await open_accounts(bank, "ann", "bob")
    seen_before = len(journal.entries)

    with pytest.raises(InsufficientFunds):
        await bank.mediator.send(Transfer(source="ann", target="bob", amount=5))

    assert (await balance(bank, "ann"), await balance(bank, "bob")) == (0, 0)
    assert len(journal.entries) == seen_before


async def test_a_commit_that_fails_on_one_aggregate_writes_none_of_them(
    backend: Backend, journal: Journal
) -> None:
    app = bank_builder(backend, journal).build()
    await open_accounts(app, "ann", "bob")
    seen_before = len(journal.entries)
    async with app.operation():
        uow = app.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        bob = await uow.repository(Account).get("bob")
        ann.deposit(10)
        bob.deposit(10)
        # another writer changes bob first: the whole commit must fail
        await app.mediator.send(Deposit(account_id="bob", amount=1))
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    assert (await balance(app, "ann"), await balance(app, "bob")) == (0, 1)
    assert [type(e) for _, e in journal.entries[seen_before:]] == [MoneyDeposited] * 2


async def test_rollback_discards_changes_and_events(bank: Application, journal: Journal) -> None:
    await open_accounts(bank, "ann")
    seen_before = len(journal.entries)
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        (await uow.repository(Account).get("ann")).deposit(10)
        await uow.rollback()
        await uow.commit()

    assert await balance(bank, "ann") == 0
    assert len(journal.entries) == seen_before


async def test_changes_not_committed_when_the_operation_ends_are_discarded(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        (await bank.get(UnitOfWork).repository(Account).get("ann")).deposit(10)

    assert await balance(bank, "ann") == 0


async def test_aggregates_handed_out_are_copies_isolated_from_other_units_of_work(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        mine = await bank.get(UnitOfWork).repository(Account).get("ann")
        mine.deposit(10)
        async with bank.operation():
            theirs = await bank.get(UnitOfWork).repository(Account).get("ann")
            assert theirs is not mine
            assert theirs.balance == 0  # my uncommitted change is invisible


async def test_loading_one_id_twice_in_a_unit_of_work_gives_the_same_object(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        accounts = bank.get(UnitOfWork).repository(Account)
        assert await accounts.get("ann") is await accounts.get("ann")


async def test_adding_an_aggregate_whose_id_exists_raises_concurrency_error(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann")

    with pytest.raises(ConcurrencyError, match="already exists"):
        await bank.mediator.send(OpenAccount(account_id="ann", owner="someone else"))

    async with bank.operation():
        assert (await bank.get(UnitOfWork).repository(Account).get("ann")).owner == "ann"


async def test_adding_a_second_object_with_a_tracked_id_is_refused(bank: Application) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        accounts = bank.get(UnitOfWork).repository(Account)
        await accounts.get("ann")
        with pytest.raises(ConfigurationError, match="already tracked"):
            accounts.add(Account(id="ann", owner="copy"))


async def test_a_removed_aggregate_is_gone_after_commit_and_its_events_are_committed(
    bank: Application, journal: Journal
) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        ann.deposit(5)
        uow.repository(Account).remove(ann)
        assert await uow.repository(Account).find("ann") is None
        await uow.commit()

    async with bank.operation():
        assert await bank.get(UnitOfWork).repository(Account).find("ann") is None
    assert isinstance(journal.entries[-1][1], MoneyDeposited)


async def test_removing_an_aggregate_that_was_not_loaded_is_refused(bank: Application) -> None:
    async with bank.operation():
        with pytest.raises(ConfigurationError, match="get\\(\\) it"):
            bank.get(UnitOfWork).repository(Account).remove(Account(id="x", owner="x"))


async def test_changing_a_loaded_aggregates_id_is_refused_and_overwrites_nothing(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann", "bob")
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        with pytest.raises(ConfigurationError, match="identity is immutable"):
            ann.id = "bob"
        ann.deposit(10)
        await uow.commit()

    assert (await balance(bank, "ann"), await balance(bank, "bob")) == (10, 0)


async def test_an_id_changed_around_validation_fails_the_commit_and_writes_nothing(
    bank: Application,
) -> None:
    await open_accounts(bank, "ann", "bob")
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        ann.deposit(10)
        ann.__dict__["id"] = "bob"  # what no validated assignment can do
        with pytest.raises(ConfigurationError, match="cannot change; nothing was committed"):
            await uow.commit()

    assert (await balance(bank, "ann"), await balance(bank, "bob")) == (0, 0)


async def test_an_unchanged_aggregate_is_not_written(bank: Application) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        await uow.repository(Account).get("ann")
        await uow.commit()
    async with bank.operation():
        assert (await bank.get(UnitOfWork).repository(Account).get("ann")).version == 1


async def test_a_change_without_events_still_bumps_the_version(bank: Application) -> None:
    await open_accounts(bank, "ann")
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        (await uow.repository(Account).get("ann")).owner = "Ann"
        await uow.commit()
    async with bank.operation():
        ann = await bank.get(UnitOfWork).repository(Account).get("ann")
    assert (ann.owner, ann.version) == ("Ann", 2)


async def test_versions_advance_by_one_per_event(bank: Application) -> None:
    await open_accounts(bank, "ann")
    for amount in (1, 2, 3):
        await bank.mediator.send(Deposit(account_id="ann", amount=amount))
    async with bank.operation():
        assert (await bank.get(UnitOfWork).repository(Account).get("ann")).version == 4


class CommittedStateProbe(DomainEventHandler[MoneyDeposited]):
    """Loads, in its own unit of work, the aggregate an event comes from."""

    def __init__(self, uow: UnitOfWork, journal: Journal) -> None:
        self.accounts = uow.repository(Account)
        self.journal = journal

    async def handle(self, event: MoneyDeposited) -> None:
        stored = await self.accounts.get(event.aggregate_id)
        self.journal.entries.append((f"probe saw version {stored.version}", event))


async def test_a_handler_runs_only_after_the_events_transaction_committed(
    backend: Backend, journal: Journal
) -> None:
    app = bank_builder(backend, journal).add_handler(CommittedStateProbe).build()
    await open_accounts(app, "ann")

    await app.mediator.send(Deposit(account_id="ann", amount=7))

    probes = [(name, event) for name, event in journal.entries if name.startswith("probe")]
    assert [(name, event.aggregate_version) for name, event in probes] == [
        ("probe saw version 2", 2)
    ]


async def test_no_handler_runs_for_events_of_a_failed_commit(
    backend: Backend, journal: Journal
) -> None:
    app = bank_builder(backend, journal).add_handler(CommittedStateProbe).build()
    await open_accounts(app, "ann")
    seen_before = len(journal.entries)
    async with app.operation():
        uow = app.get(UnitOfWork)
        (await uow.repository(Account).get("ann")).deposit(5)
        await app.mediator.send(Deposit(account_id="ann", amount=1))
        seen_after_other_writer = len(journal.entries)
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    assert len(journal.entries) == seen_after_other_writer > seen_before


async def test_events_of_several_aggregates_are_dispatched_in_the_order_recorded(
    bank: Application, journal: Journal
) -> None:
    await open_accounts(bank, "ann", "bob")
    seen_before = len(journal.entries)
    async with bank.operation():
        uow = bank.get(UnitOfWork)
        ann = await uow.repository(Account).get("ann")
        bob = await uow.repository(Account).get("bob")
        ann.deposit(1)
        bob.deposit(2)
        ann.deposit(3)
        bob.deposit(4)
        await uow.commit()

    audited = [event for name, event in journal.entries[seen_before:] if name == "audit"]
    assert [(e.aggregate_id, getattr(e, "amount", None)) for e in audited] == [
        ("ann", 1),
        ("bob", 2),
        ("ann", 3),
        ("bob", 4),
    ]


async def test_of_two_writers_of_one_version_exactly_one_wins(bank: Application) -> None:
    await open_accounts(bank, "ann")

    async def write(amount: int) -> None:
        async with bank.operation():
            uow = bank.get(UnitOfWork)
            (await uow.repository(Account).get("ann")).deposit(amount)
            await both_loaded.wait()
            await uow.commit()

    both_loaded = asyncio.Event()
    writers = [asyncio.ensure_future(write(amount)) for amount in (10, 20)]
    await asyncio.sleep(0.05)
    both_loaded.set()
    results = await asyncio.gather(*writers, return_exceptions=True)

    winners = [r for r in results if r is None]
    losers = [r for r in results if isinstance(r, ConcurrencyError)]
    assert (len(winners), len(losers)) == (1, 1)
    assert losers[0].expected_version == 1
    assert await balance(bank, "ann") in (10, 20)


@pytest.mark.parametrize("writers", [pytest.param(n, id=f"{n}-writers") for n in (5, 50)])
async def test_many_concurrent_deposits_lose_no_update_when_losers_retry(
    bank: Application, writers: int
) -> None:
    await open_accounts(bank, "ann")
    conflicts = 0

    async def deposit_with_retry() -> None:
        nonlocal conflicts
        while True:
            try:
                await bank.mediator.send(Deposit(account_id="ann", amount=1))
                return
            except ConcurrencyError:
                conflicts += 1

    await asyncio.gather(*(deposit_with_retry() for _ in range(writers)))

    async with bank.operation():
        ann = await bank.get(UnitOfWork).repository(Account).get("ann")
    assert (ann.balance, ann.version) == (writers, writers + 1)


async def test_committed_events_carry_their_aggregate_and_the_order_they_were_opened_in(
    bank: Application, journal: Journal
) -> None:
    await open_accounts(bank, "ann")

    opened = journal.of("audit")[0]
    assert isinstance(opened, AccountOpened)
    assert (opened.aggregate_id, opened.aggregate_version) == ("ann", 1)


@pytest.mark.parametrize("writers", [pytest.param(50, id="50-writers")])
async def test_of_fifty_writers_of_one_version_exactly_one_wins_each_round(
    bank: Application, writers: int
) -> None:
    await open_accounts(bank, "ann")
    rounds = 3

    for round_number in range(rounds):
        barrier = asyncio.Barrier(writers)

        async def write(barrier: asyncio.Barrier = barrier) -> None:
            async with bank.operation():
                uow = bank.get(UnitOfWork)
                (await uow.repository(Account).get("ann")).deposit(1)
                await barrier.wait()  # every writer has read the same version
                await uow.commit()

        results = await asyncio.gather(*(write() for _ in range(writers)), return_exceptions=True)

        assert sum(result is None for result in results) == 1, f"round {round_number}"
        assert all(isinstance(r, ConcurrencyError) for r in results if r is not None), results

    async with bank.operation():
        ann = await bank.get(UnitOfWork).repository(Account).get("ann")
    assert (ann.balance, ann.version) == (rounds, rounds + 1)  # no lost update
    stats = await bank.outbox.stats()
    assert stats.delivered + stats.pending == 1 + rounds  # losers' events never stored
