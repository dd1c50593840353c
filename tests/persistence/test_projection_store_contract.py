"""The projection store contract, proven on every back-end (the ``backend`` fixture).

What the projection machinery asks of storage: whether an earlier event of an aggregate
is still unapplied (so a later one waits), the events a rebuild replays, a projection's
lag and state, whether the outbox was pruned, and dropping or swapping view storage.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import Backend, bank_builder
from facta import Application, PermanentFailure, UnitOfWork, utc_now
from facta.application.ports.projection_store import ProjectionState, ProjectionStore
from facta.application.ports.unit_of_work import Commit
from facta.application.views import View
from facta.domain import DomainEvent
from facta.errors import HandlerFailure
from facta.persistence import Outbox, OutboxEntry, Receipt, RetryPolicy
from support.bank import AccountOpened, MoneyDeposited, MoneyWithdrawn

HANDLER = "tests.Balances"
OTHER = "tests.Audit"
TYPES = [MoneyDeposited.event_type, MoneyWithdrawn.event_type]
POLICY = RetryPolicy(max_attempts=3, first_delay=timedelta(0), jitter=0)


class Summary(View):
    view_name = "contract_summary"
    indexes = ("total",)

    total: int = 0


class SummaryCopy(Summary):
    view_name = "contract_summary_rebuild"


@pytest.fixture
def app(backend: Backend) -> Application:
    return bank_builder(backend).build()


@pytest.fixture
def store(app: Application) -> ProjectionStore:
    return app.get(ProjectionStore)  # type: ignore[type-abstract]


def deposit(account: str, version: int) -> MoneyDeposited:
    return MoneyDeposited(amount=version, aggregate_id=account, aggregate_version=version)


async def record(app: Application, *events: DomainEvent, delivered: bool = False) -> None:
    """Commit events to the outbox as a unit of work does, without dispatching them."""
    entries = [OutboxEntry(event, delivered, utc_now() + timedelta(hours=1)) for event in events]
    async with app.operation():
        await app.get(UnitOfWork).write_changes(Commit([], entries, None))


async def applied(app: Application, event: DomainEvent, handler: str = HANDLER) -> None:
    """Record that ``handler`` applied ``event`` (its receipt, as its commit writes it)."""
    async with app.operation():
        await app.get(UnitOfWork).write_changes(Commit([], [], Receipt(event.event_id, handler)))


async def dead_letter(app: Application, event: DomainEvent, handler: str = HANDLER) -> None:
    outbox = app.get(Outbox)  # type: ignore[type-abstract]
    failure = HandlerFailure(handler, PermanentFailure("broken"))
    await outbox.record_failures(event, [handler, OTHER], [failure], POLICY)


async def test_an_event_waits_for_each_unapplied_earlier_event_of_its_aggregate(
    app: Application, store: ProjectionStore
) -> None:
    first, second, third = deposit("ann", 1), deposit("ann", 2), deposit("ann", 3)
    await record(app, first, second, third)

    assert await store.unapplied_predecessor(third, HANDLER, TYPES) == first.event_id
    assert await store.unapplied_predecessor(first, HANDLER, TYPES) is None
    await applied(app, first)
    assert await store.unapplied_predecessor(third, HANDLER, TYPES) == second.event_id
    await applied(app, second)
    assert await store.unapplied_predecessor(third, HANDLER, TYPES) is None


async def test_only_undelivered_events_of_the_same_aggregate_and_types_count(
    app: Application, store: ProjectionStore
) -> None:
    later = deposit("ann", 5)
    await record(app, deposit("bob", 1), AccountOpened(owner="a", aggregate_id="ann"))
    await record(app, deposit("ann", 2), delivered=True)
    await record(app, deposit("ann", 6), later)

    assert await store.unapplied_predecessor(later, HANDLER, TYPES) is None


async def test_another_handlers_receipt_does_not_apply_an_event_for_this_one(
    app: Application, store: ProjectionStore
) -> None:
    first, second = deposit("ann", 1), deposit("ann", 2)
    await record(app, first, second)
    await applied(app, first, OTHER)

    assert await store.unapplied_predecessor(second, HANDLER, TYPES) == first.event_id
    assert await store.unapplied_predecessor(second, OTHER, TYPES) is None


async def test_history_replays_every_event_of_the_types_in_commit_order_in_pages(
    app: Application, store: ProjectionStore
) -> None:
    events = [deposit("ann", 1), deposit("bob", 1), AccountOpened(owner="c", aggregate_id="c")]
    await record(app, *events[:2])
    await record(app, events[2], deposit("ann", 2), delivered=True)

    first = await store.history(HANDLER, TYPES, 0, 2, everything=True)
    rest = await store.history(HANDLER, TYPES, first[-1].position, 10, everything=True)

    replayed = [pending.event for pending in first + rest]
    assert [(e.aggregate_id, e.aggregate_version) for e in replayed] == [
        ("ann", 1),
        ("bob", 1),
        ("ann", 2),
    ]
    assert replayed[0] == events[0]
    assert all(pending.settled == frozenset() for pending in first + rest)
    assert await store.history(HANDLER, TYPES, rest[-1].position, 10, everything=True) == []


async def test_history_of_what_was_applied_includes_events_from_before_the_projection(
    app: Application, store: ProjectionStore
) -> None:
    before = deposit("old", 1)
    done, waiting, dead = deposit("ann", 1), deposit("ann", 2), deposit("bob", 1)
    other_only = deposit("cid", 1)
    await record(app, before, delivered=True)
    await record(app, done, waiting, dead, other_only)
    await applied(app, done)
    await applied(app, other_only, OTHER)
    await dead_letter(app, dead)

    replayed = await store.history(HANDLER, TYPES, 0, 10, everything=False)

    assert [pending.event.event_id for pending in replayed] == [before.event_id, done.event_id]


async def test_lag_counts_unsettled_events_and_dead_letters_of_a_projection(
    app: Application, store: ProjectionStore
) -> None:
    empty = await store.lag(HANDLER, TYPES)
    assert (empty.pending, empty.oldest, empty.dead_letters) == (0, None, 0)
    done, waiting, dead = deposit("ann", 1), deposit("ann", 2), deposit("bob", 1)
    before = utc_now() - timedelta(seconds=1)
    await record(app, done, waiting, dead, AccountOpened(owner="x", aggregate_id="x"))
    await applied(app, done)
    await dead_letter(app, dead)

    lag = await store.lag(HANDLER, TYPES)

    assert (lag.pending, lag.dead_letters) == (1, 1)
    assert lag.oldest is not None and before <= lag.oldest <= utc_now()


async def test_a_projection_is_live_until_paused_and_live_again_when_resumed(
    store: ProjectionStore,
) -> None:
    assert await store.state("tests.Balances") is ProjectionState.LIVE
    await store.set_state("tests.Balances", ProjectionState.PAUSED)
    assert await store.state("tests.Balances") is ProjectionState.PAUSED
    assert await store.state("tests.Audit") is ProjectionState.LIVE
    await store.set_state("tests.Balances", ProjectionState.LIVE)
    assert await store.state("tests.Balances") is ProjectionState.LIVE


async def test_pruning_the_outbox_is_recorded_with_how_many_events_went(
    app: Application, store: ProjectionStore
) -> None:
    outbox = app.get(Outbox)  # type: ignore[type-abstract]
    await record(app, deposit("ann", 1), deposit("ann", 2), deposit("bob", 1), delivered=True)
    assert await outbox.prune(utc_now() - timedelta(hours=1)) == 0
    assert await store.pruned() is None

    started = utc_now() - timedelta(seconds=1)
    assert await outbox.prune(utc_now() + timedelta(seconds=1), limit=2) == 2
    assert await outbox.prune(utc_now() + timedelta(seconds=1)) == 1

    record_ = await store.pruned()
    assert record_ is not None and record_.events == 3
    assert started <= record_.last_pruned_at <= utc_now()


async def put(app: Application, *views: View) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        for view in views:
            uow.views(type(view)).put(view)
        await uow.commit()


async def ids(app: Application, view_type: type[Summary]) -> list[tuple[str, int]]:
    async with app.operation():
        found = await app.get(UnitOfWork).views(view_type).find(order_by="-total")
    return [(view.id, view.total) for view in found]


async def test_dropped_views_are_gone_and_the_view_type_is_usable_again(
    app: Application, store: ProjectionStore
) -> None:
    await put(app, Summary(id="a", total=1), Summary(id="b", total=2))

    await store.drop_views(Summary)
    await store.drop_views(Summary)  # nothing left to drop: no error

    assert await ids(app, Summary) == []
    await put(app, Summary(id="a", total=3))
    assert await ids(app, Summary) == [("a", 3)]


async def test_swapping_replaces_the_live_views_by_the_copy_again_and_again(
    app: Application, store: ProjectionStore
) -> None:
    await put(app, Summary(id="stale", total=1))
    for round_ in range(2):
        await put(app, SummaryCopy(id="a", total=round_), SummaryCopy(id="b", total=10 + round_))

        await store.swap_views(Summary, SummaryCopy)

        assert await ids(app, Summary) == [("b", 10 + round_), ("a", round_)]
        assert await ids(app, SummaryCopy) == []
    async with app.operation():
        views = app.get(UnitOfWork).views(Summary)
        assert [v.id for v in await views.find({"total": 11})] == ["b"]
        assert await views.get("a") == Summary(id="a", total=1)


async def test_swapping_in_a_copy_that_was_never_written_leaves_no_live_views(
    app: Application, store: ProjectionStore
) -> None:
    await put(app, Summary(id="stale", total=1))

    await store.swap_views(Summary, SummaryCopy)

    assert await ids(app, Summary) == []
