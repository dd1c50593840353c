"""The event store contract, proven on every back-end (the ``backend`` fixture).

Event-sourced aggregates go through the same unit of work, outbox and handlers as
state-stored ones: their new events are appended to their stream with the version the
unit of work expects, in the transaction of everything else it writes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from conftest import Backend, bank_builder
from facta import (
    Application,
    ConcurrencyError,
    DomainEventHandler,
    EventStore,
    PersistenceError,
    UnitOfWork,
    utc_now,
)
from support.bank import Account, Journal, MoneyDeposited, OpenAccount
from support.ledger import (
    LEDGER_TYPES,
    EntryPosted,
    Ledger,
    LedgerOpened,
    SnapshottedLedger,
    write_old_event,
)


class PostingsSeen(DomainEventHandler[EntryPosted]):
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def handle(self, event: EntryPosted) -> None:
        self.journal.entries.append(("postings", event))


def ledger_app(backend: Backend, journal: Journal | None = None) -> Application:
    return bank_builder(backend, journal).add_handler(*LEDGER_TYPES, PostingsSeen).build()


@pytest.fixture
def app(backend: Backend, journal: Journal) -> Application:
    return ledger_app(backend, journal)


async def open_ledger(app: Application, ledger_id: str = "l-1", *amounts: int) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        ledger = Ledger.open(ledger_id, "ann")
        for amount in amounts:
            ledger.post(amount)
        uow.repository(Ledger).add(ledger)
        await uow.commit()


async def post(app: Application, amount: int, ledger_id: str = "l-1") -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        (await uow.repository(Ledger).get(ledger_id)).post(amount)
        await uow.commit()


async def load(app: Application, ledger_id: str = "l-1") -> Ledger | None:
    async with app.operation():
        return await app.get(UnitOfWork).repository(Ledger).find(ledger_id)


async def test_an_event_sourced_aggregate_is_loaded_by_replaying_its_stream(
    app: Application,
) -> None:
    await open_ledger(app, "l-1", 10)
    await post(app, 5)

    ledger = await load(app)

    assert ledger is not None
    assert (ledger.owner, ledger.balance, ledger.entries, ledger.version) == ("ann", 15, 2, 3)


async def test_its_events_reach_the_outbox_and_the_handlers_like_any_aggregates(
    app: Application, journal: Journal
) -> None:
    await open_ledger(app, "l-1", 10)

    seen = journal.of("postings")
    assert [(type(e), e.amount, e.aggregate_version) for e in seen] == [(EntryPosted, 10, 2)]
    stored = (await app.get(EventStore).read_stream(Ledger, "l-1"))[1]
    assert stored == seen[0]  # the very event, its correlation and causation ids included
    assert stored.correlation_id is not None


async def test_a_stream_reads_in_order_from_a_version_up_to_a_version(app: Application) -> None:
    await open_ledger(app, "l-1", 1, 2, 3)
    await post(app, 4)
    store = app.get(EventStore)

    every = await store.read_stream(Ledger, "l-1")
    middle = await store.read_stream(Ledger, "l-1", from_version=2, to_version=4)

    assert [e.aggregate_version for e in every] == [1, 2, 3, 4, 5]
    assert isinstance(every[0], LedgerOpened)
    assert [(e.aggregate_version, e.amount) for e in middle] == [(2, 1), (3, 2), (4, 3)]  # type: ignore[attr-defined]


async def test_time_travel_loads_the_aggregate_as_it_was_at_a_time_or_version(
    app: Application,
) -> None:
    await open_ledger(app, "l-1", 10)
    await asyncio.sleep(0.01)
    between = utc_now()
    await asyncio.sleep(0.01)
    await post(app, 5)
    store = app.get(EventStore)

    then = await store.load(Ledger, "l-1", at=between)
    at_version = await store.load(Ledger, "l-1", version=1)
    before = await store.load(Ledger, "l-1", at=between - timedelta(days=1))

    assert then is not None and (then.balance, then.version) == (10, 2)
    assert at_version is not None and (at_version.balance, at_version.version) == (0, 1)
    assert before is None
    assert [e.aggregate_version for e in await store.read_stream(Ledger, "l-1", at=between)] == [
        1,
        2,
    ]


async def test_adding_an_aggregate_whose_stream_exists_is_a_concurrency_error(
    app: Application,
) -> None:
    await open_ledger(app, "l-1", 10)

    with pytest.raises(ConcurrencyError) as raised:
        await open_ledger(app, "l-1")

    assert (raised.value.aggregate_id, raised.value.expected_version) == ("l-1", 0)
    ledger = await load(app)
    assert ledger is not None and ledger.version == 2


async def test_of_two_writers_of_one_stream_version_the_second_fails_and_writes_nothing(
    app: Application, journal: Journal
) -> None:
    await open_ledger(app, "l-1")
    async with app.operation():
        uow = app.get(UnitOfWork)
        stale = await uow.repository(Ledger).get("l-1")
        stale.post(7)
        await post(app, 3)  # another writer appends first
        with pytest.raises(ConcurrencyError) as raised:
            await uow.commit()

    assert (raised.value.expected_version, raised.value.actual_version) == (1, 2)
    ledger = await load(app)
    assert ledger is not None and (ledger.balance, ledger.version) == (3, 2)
    assert [e.amount for e in journal.of("postings")] == [3]


@pytest.mark.parametrize("writers", [pytest.param(50, id="50-writers")])
async def test_of_fifty_parallel_writers_of_one_stream_version_exactly_one_wins_each_round(
    app: Application, writers: int
) -> None:
    await open_ledger(app, "l-1")
    rounds = 3
    for round_number in range(rounds):
        barrier = asyncio.Barrier(writers)

        async def write(barrier: asyncio.Barrier) -> None:
            async with app.operation():
                uow = app.get(UnitOfWork)
                ledger = await uow.repository(Ledger).get("l-1")
                ledger.post(1)
                await barrier.wait()  # everyone has read the same version
                await uow.commit()

        results = await asyncio.gather(
            *(write(barrier) for _ in range(writers)), return_exceptions=True
        )

        unexpected = [r for r in results if r is not None and not isinstance(r, ConcurrencyError)]
        assert unexpected == []
        assert sum(r is None for r in results) == 1, f"round {round_number}"
    ledger = await load(app)
    assert ledger is not None and (ledger.balance, ledger.version) == (rounds, rounds + 1)
    stored = await app.get(EventStore).read_stream(Ledger, "l-1")
    assert [e.aggregate_version for e in stored] == list(range(1, rounds + 2))


async def test_a_unit_of_work_mixing_both_kinds_that_fails_halfway_writes_nothing(
    app: Application, journal: Journal
) -> None:
    await app.mediator.send(OpenAccount(account_id="acc", owner="ann"))
    await open_ledger(app, "first")
    await open_ledger(app, "second")
    seen_before = len(journal.entries)
    positions_before = len(await app.get(EventStore).read_all())
    async with app.operation():
        uow = app.get(UnitOfWork)
        (await uow.repository(Account).get("acc")).deposit(10)
        (await uow.repository(Ledger).get("first")).post(10)
        (await uow.repository(Ledger).get("second")).post(10)
        await post(app, 1, "second")  # the second stream moves on: the last append fails
        with pytest.raises(ConcurrencyError) as raised:
            await uow.commit()

    assert raised.value.aggregate_id == "second"
    async with app.operation():
        uow = app.get(UnitOfWork)
        assert (await uow.repository(Account).get("acc")).balance == 0
        assert (await uow.repository(Ledger).get("first")).version == 1
        assert (await uow.repository(Ledger).get("second")).balance == 1
    assert len(await app.get(EventStore).read_all()) == positions_before + 1
    assert [type(e) for _, e in journal.entries[seen_before:]] == [EntryPosted]
    assert not any(isinstance(e, MoneyDeposited) for _, e in journal.entries)


async def test_read_all_gives_every_streams_events_in_commit_order_from_a_position(
    app: Application,
) -> None:
    await open_ledger(app, "a", 1)
    await open_ledger(app, "b", 2)
    await post(app, 3, "a")
    store = app.get(EventStore)

    every = await store.read_all()
    postings = await store.read_all(event_types=[EntryPosted])
    after_two = await store.read_all(after=every[1].position, limit=2)
    batches = [batch async for batch in store.batches(size=2)]

    assert [(r.event.aggregate_id, r.event.aggregate_version) for r in every] == [
        ("a", 1),
        ("a", 2),
        ("b", 1),
        ("b", 2),
        ("a", 3),
    ]
    assert [r.position for r in every] == sorted(r.position for r in every)
    assert [r.event.amount for r in postings] == [1, 2, 3]  # type: ignore[attr-defined]
    assert [r.event for r in after_two] == [every[2].event, every[3].event]
    assert [len(batch) for batch in batches] == [2, 2, 1]
    assert {r.stream_type for r in every} == {"Ledger"}


async def test_a_snapshot_is_stored_every_n_events_and_loading_replays_only_what_follows(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    for amount in range(12):  # one event per commit: snapshots at versions 5 and 10
        async with app.operation():
            uow = app.get(UnitOfWork)
            if amount == 0:
                ledger = SnapshottedLedger(id="s")
                ledger.record(LedgerOpened(owner="ann"))
                uow.repository(SnapshottedLedger).add(ledger)
            else:
                (await uow.repository(SnapshottedLedger).get("s")).post(amount)
            await uow.commit()
    store = app.get(EventStore)
    schema = SnapshottedLedger.state_schema()
    applied: list[int] = []
    original = SnapshottedLedger.apply_posted

    def counting(self: SnapshottedLedger, event: EntryPosted) -> None:
        applied.append(event.aggregate_version)
        original(self, event)

    monkeypatch.setattr(SnapshottedLedger, "apply_posted", counting)
    monkeypatch.setattr(SnapshottedLedger, "_facta_appliers", None)

    async with app.operation():
        loaded = await app.get(UnitOfWork).repository(SnapshottedLedger).get("s")

    latest = await store.snapshot_record("SnapshottedLedger", "s", schema)
    assert latest is not None and latest.version == 10
    assert applied == [11, 12]
    assert (loaded.balance, loaded.entries, loaded.version) == (sum(range(1, 12)), 11, 12)
    applied.clear()
    then = await store.load(SnapshottedLedger, "s", version=7)  # from the snapshot at 5
    assert then is not None and (then.balance, then.version) == (sum(range(1, 7)), 7)
    assert applied == [6, 7]


async def test_a_snapshot_of_an_older_shape_of_the_state_is_ignored_not_misread(
    backend: Backend,
) -> None:
    class Before(SnapshottedLedger):
        aggregate_type = "Renamed"

    class After(Ledger):
        aggregate_type = "Renamed"
        snapshot_every = 5
        posted: int = 0  # a new field: an older snapshot would leave it at 0

        def apply_posted(self, event: EntryPosted) -> None:
            super().apply_posted(event)
            self.posted += event.amount

    older = bank_builder(backend).add_handler(Before).build()
    async with older.operation():
        uow = older.get(UnitOfWork)
        ledger = Before(id="r")
        ledger.record(LedgerOpened(owner="ann"))
        for _ in range(6):
            ledger.post(1)
        uow.repository(Before).add(ledger)
        await uow.commit()
    newer = bank_builder(backend).add_handler(After).build()

    async with newer.operation():
        loaded = await newer.get(UnitOfWork).repository(After).get("r")

    assert Before.state_schema() != After.state_schema()
    assert (loaded.posted, loaded.balance, loaded.version) == (6, 6, 7)


async def test_events_an_older_release_stored_are_upcast_to_the_current_class(
    app: Application, backend: Backend
) -> None:
    await write_old_event(app, backend.name, "Ledger", "old", 1, "LedgerOpened", 1, {"owner": "bo"})
    await write_old_event(app, backend.name, "Ledger", "old", 2, "EntryPosted", 1, {"value": 4})
    await write_old_event(app, backend.name, "Ledger", "old", 3, "EntryPosted", 2, {"amount": 6})

    ledger = await load(app, "old")
    events = await app.get(EventStore).read_stream(Ledger, "old")

    assert ledger is not None and (ledger.owner, ledger.balance, ledger.version) == ("bo", 10, 3)
    assert [(e.amount, e.memo) for e in events[1:]] == [  # type: ignore[attr-defined]
        (4, "(before memos)"),
        (6, "(before memos)"),
    ]
    await post(app, 1, "old")  # and the stream goes on in today's shape
    reloaded = await load(app, "old")
    assert reloaded is not None and (reloaded.balance, reloaded.version) == (11, 4)


async def test_an_older_event_no_upcaster_reads_is_refused_naming_the_missing_step(
    backend: Backend,
) -> None:
    app = bank_builder(backend).add_handler(Ledger).build()  # no upcasters
    await write_old_event(app, backend.name, "Ledger", "old", 1, "LedgerOpened", 1, {"owner": "bo"})
    await write_old_event(app, backend.name, "Ledger", "old", 2, "EntryPosted", 1, {"value": 4})

    with pytest.raises(
        PersistenceError,
        match="add an EventUpcaster with event_type = 'EntryPosted', from_version = 1",
    ):
        await load(app, "old")


async def test_an_event_of_a_newer_release_is_refused_not_misread(
    app: Application, backend: Backend
) -> None:
    await write_old_event(app, backend.name, "Ledger", "new", 1, "LedgerOpened", 1, {"owner": "x"})
    fields: dict[str, Any] = {"amount": 1, "memo": "", "currency": "EUR"}
    await write_old_event(app, backend.name, "Ledger", "new", 2, "EntryPosted", 4, fields)

    with pytest.raises(PersistenceError, match="written by a newer release"):
        await load(app, "new")


async def test_positions_follow_commit_order_so_a_reader_polling_during_appends_misses_nothing(
    app: Application,
) -> None:
    writers, commits = 10, 4
    for number in range(writers):
        await open_ledger(app, f"w-{number}")
    store = app.get(EventStore)
    start = await store.last_position()
    seen: list[int] = []
    done = asyncio.Event()

    async def write(number: int) -> None:
        for _ in range(commits):
            await post(app, 1, f"w-{number}")
            await asyncio.sleep(0)

    async def poll() -> None:
        after = start
        while True:
            finished = done.is_set()
            batch = await store.read_all(after=after, limit=7)
            seen.extend(recorded.position for recorded in batch)
            after = batch[-1].position if batch else after
            if finished and not batch:
                return
            await asyncio.sleep(0)

    reader = asyncio.ensure_future(poll())
    await asyncio.gather(*(write(number) for number in range(writers)))
    done.set()
    await reader

    assert len(seen) == writers * commits  # a position that committed late would be skipped
    assert seen == sorted(seen)
    assert await store.last_position() == seen[-1]
