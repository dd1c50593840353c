"""EventSourcedAggregate: its state changes only by applying events, and replays from them."""

from __future__ import annotations

from typing import ClassVar

import pytest

from facta import (
    ApplicationBuilder,
    ConfigurationError,
    DomainEvent,
    EventSourcedAggregate,
    InMemoryPersistence,
    PersistenceError,
    UnitOfWork,
)
from support.ledger import EntryPosted, Ledger, LedgerClosed, LedgerOpened


class Renamed(DomainEvent):
    name: str


def test_recording_an_event_applies_it_and_keeps_it_uncommitted() -> None:
    ledger = Ledger.open("l-1", "ann")
    ledger.post(10, "rent")

    assert (ledger.owner, ledger.balance, ledger.entries) == ("ann", 10, 1)
    assert [type(e) for e in ledger.uncommitted_events] == [LedgerOpened, EntryPosted]
    assert [e.aggregate_version for e in ledger.uncommitted_events] == [1, 2]
    assert ledger.version == 0 and ledger.next_version() == 2


def test_assigning_a_field_outside_an_apply_method_is_refused() -> None:
    ledger = Ledger.open("l-1", "ann")

    with pytest.raises(ConfigurationError, match=r"Ledger\.balance was assigned outside an apply"):
        ledger.balance = 1_000_000

    assert ledger.balance == 0


def test_replaying_the_recorded_events_rebuilds_the_same_state() -> None:
    ledger = Ledger.open("l-1", "ann")
    ledger.post(10)
    ledger.post(-3)
    ledger.close()

    replayed = Ledger.from_events("l-1", ledger.uncommitted_events)

    assert replayed.model_dump() == ledger.model_dump()
    assert replayed.version == 4 and replayed.uncommitted_events == ()


def test_replaying_a_stream_with_a_gap_is_refused() -> None:
    ledger = Ledger.open("l-1", "ann")
    ledger.post(1)
    ledger.post(2)
    opened, _, second = ledger.uncommitted_events

    with pytest.raises(PersistenceError, match="version 3 after 1"):
        Ledger.from_events("l-1", [opened, second])


def test_a_business_rule_refusal_records_nothing() -> None:
    ledger = Ledger.open("l-1", "ann")
    ledger.close()

    with pytest.raises(LedgerClosed):
        ledger.post(5)

    assert len(ledger.uncommitted_events) == 2


def test_an_event_whose_apply_method_raises_is_not_recorded() -> None:
    class Fragile(EventSourcedAggregate):
        name: str = ""

        def apply_renamed(self, event: Renamed) -> None:
            raise ValueError("no")

    fragile = Fragile(id="f")
    with pytest.raises(ValueError):
        fragile.record(Renamed(name="x"))

    assert fragile.uncommitted_events == ()


def test_an_event_without_an_apply_method_is_refused_naming_the_method_to_add() -> None:
    ledger = Ledger.open("l-1", "ann")

    with pytest.raises(ConfigurationError, match=r"no apply method for Renamed: add `def apply_"):
        ledger.record(Renamed(name="x"))

    assert len(ledger.uncommitted_events) == 1


def test_apply_methods_are_discovered_from_their_annotations() -> None:
    assert {event.event_type for event in Ledger.appliers()} == {
        "LedgerOpened",
        "EntryPosted",
        "LedgerClosed",
    }
    assert Ledger.event_class("EntryPosted") is EntryPosted
    assert Ledger.event_class("Renamed") is None


class NoAnnotation(EventSourcedAggregate):
    def apply_something(self, event) -> None:  # type: ignore[no-untyped-def]
        pass


class TwoForOne(EventSourcedAggregate):
    name: str = ""

    def apply_one(self, event: Renamed) -> None:
        pass

    def apply_two(self, event: Renamed) -> None:
        pass


class NoDefault(EventSourcedAggregate):
    name: str

    def apply_renamed(self, event: Renamed) -> None:
        pass


class BadSnapshots(EventSourcedAggregate):
    snapshot_every: ClassVar[int | None] = 0


@pytest.mark.parametrize(
    ("aggregate", "message"),
    [
        pytest.param(NoAnnotation, "must take exactly one parameter annotated", id="untyped"),
        pytest.param(TwoForOne, "two apply methods for Renamed", id="two-for-one-event"),
        pytest.param(NoDefault, "NoDefault.name has no default", id="field-without-default"),
        pytest.param(BadSnapshots, "snapshot_every must be None or an int >= 1", id="snapshots"),
    ],
)
def test_a_misdeclared_aggregate_is_refused_when_the_application_is_built(
    aggregate: type[EventSourcedAggregate], message: str
) -> None:
    builder = ApplicationBuilder().add_handler(aggregate)

    with pytest.raises(ConfigurationError, match=message):
        builder.build()


async def test_an_event_sourced_aggregate_is_not_removed_but_closed() -> None:
    app = ApplicationBuilder().add_handler(Ledger).use_persistence(InMemoryPersistence()).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Ledger).add(Ledger.open("l-1", "ann"))
        await uow.commit()
        ledger = await uow.repository(Ledger).get("l-1")

        with pytest.raises(ConfigurationError, match="record an event that closes it"):
            uow.repository(Ledger).remove(ledger)


async def test_adding_an_event_sourced_aggregate_with_no_events_is_refused_at_commit() -> None:
    app = ApplicationBuilder().add_handler(Ledger).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Ledger).add(Ledger(id="empty"))

        with pytest.raises(ConfigurationError, match="was added with no events"):
            await uow.commit()


def test_the_state_schema_changes_with_the_fields_and_the_snapshot_version() -> None:
    class Wider(Ledger):
        aggregate_type = "Ledger"
        note: str = ""

    class Bumped(Ledger):
        aggregate_type = "Ledger"
        snapshot_version = 2

    schemas = {Ledger.state_schema(), Wider.state_schema(), Bumped.state_schema()}

    assert len(schemas) == 3


def test_given_when_then_works_on_an_event_sourced_aggregate() -> None:
    from facta.testing import given

    outcome = given(lambda: Ledger.open("l-1", "ann"), lambda ledger: ledger.post(5)).when(
        lambda ledger: ledger.post(7)
    )

    outcome.then(EntryPosted(amount=7, memo="")).then_state(
        lambda ledger: (ledger.balance, ledger.version) == (12, 2)
    )
