"""AggregateRoot: recording events, versions, and rebuilding from stored state."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import ClassVar

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from facta import AggregateRoot
from facta.domain.aggregate import state_json
from support.bank import Account, AccountOpened, MoneyDeposited, MoneyWithdrawn


class Ledger(AggregateRoot):
    """An aggregate that names its stored type explicitly."""

    aggregate_type: ClassVar[str] = "accounting.Ledger"

    name: str = "main"


class SavingsAccount(Account):
    """A subclass without an override of its own."""


class Priced(AggregateRoot):
    """An aggregate whose JSON has a computed field and a field written its own way."""

    cents: int = 250
    note: str = "cash"

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def euros(self) -> float:
        return self.cents / 100

    @pydantic.field_serializer("note")
    def _shout(self, note: str) -> str:
        return note.upper()


class Terse(AggregateRoot):
    """An aggregate whose class writes its own JSON."""

    note: str = "kept out"

    def model_dump_json(self, **options: object) -> str:
        return json.dumps({"id": self.id})


@pytest.fixture
def account() -> Account:
    """A new account, opened but not yet committed."""
    return Account.open("acc-1", "alice")


@pytest.fixture
def stored_account() -> Account:
    """An account as loaded from storage at version 3, with no pending events."""
    return Account.restore({"id": "acc-1", "owner": "alice", "balance": 50}, version=3)


def test_record_returns_the_event_stamped_with_the_aggregate_id_and_next_version(
    stored_account: Account,
) -> None:
    recorded = stored_account.record(MoneyDeposited(amount=5))

    assert recorded.aggregate_id == "acc-1"
    assert recorded.aggregate_version == 4
    assert recorded.amount == 5


def test_record_keeps_the_stamped_event_not_the_one_passed_in(account: Account) -> None:
    recorded = account.record(MoneyDeposited(amount=5))

    assert account.uncommitted_events[-1] is recorded


def test_record_leaves_the_passed_event_untouched() -> None:
    account = Account(id="acc-1", owner="alice")
    event = MoneyDeposited(amount=5)

    recorded = account.record(event)

    assert event.aggregate_id == ""
    assert event.aggregate_version == 0
    assert recorded is not event
    assert recorded.event_id == event.event_id
    assert recorded.occurred_at == event.occurred_at


def test_recorded_events_take_consecutive_versions(account: Account) -> None:
    account.deposit(10)
    account.withdraw(3)

    assert [event.aggregate_version for event in account.uncommitted_events] == [1, 2, 3]


def test_uncommitted_events_are_kept_in_the_order_they_were_recorded(account: Account) -> None:
    account.deposit(10)
    account.withdraw(3)

    assert [type(event) for event in account.uncommitted_events] == [
        AccountOpened,
        MoneyDeposited,
        MoneyWithdrawn,
    ]


def test_uncommitted_events_cannot_be_changed_through_the_returned_sequence(
    account: Account,
) -> None:
    events = account.uncommitted_events

    assert isinstance(events, tuple)
    account.deposit(1)
    assert len(events) == 1
    assert len(account.uncommitted_events) == 2


def test_a_new_aggregate_is_at_version_zero(account: Account) -> None:
    assert account.version == 0


def test_mark_committed_clears_the_uncommitted_events_and_sets_the_version(
    account: Account,
) -> None:
    account.deposit(10)

    account.mark_committed(2)

    assert account.uncommitted_events == ()
    assert account.uncommitted_records() == []
    assert account.version == 2


def test_events_recorded_after_a_commit_continue_from_the_committed_version(
    account: Account,
) -> None:
    account.deposit(10)
    account.mark_committed(2)

    recorded = account.record(MoneyDeposited(amount=1))

    assert recorded.aggregate_version == 3


@pytest.mark.parametrize(
    ("deposits", "expected"),
    [
        pytest.param(0, 4, id="no-pending-events-still-moves-one-version"),
        pytest.param(1, 4, id="one-event"),
        pytest.param(3, 6, id="three-events"),
    ],
)
def test_next_version_is_the_version_the_pending_changes_will_produce(
    stored_account: Account, deposits: int, expected: int
) -> None:
    for _ in range(deposits):
        stored_account.deposit(1)

    assert stored_account.next_version() == expected


def test_next_version_matches_the_version_of_the_last_recorded_event(account: Account) -> None:
    account.deposit(1)
    account.deposit(2)

    assert account.next_version() == account.uncommitted_events[-1].aggregate_version


def test_uncommitted_records_order_events_across_aggregates_by_recording_time() -> None:
    first = Account.open("acc-1", "alice")
    second = Account.open("acc-2", "bob")
    first.deposit(1)

    records = [*first.uncommitted_records(), *second.uncommitted_records()]
    in_order = [event for _, event in sorted(records, key=lambda record: record[0])]

    assert [(event.aggregate_id, type(event)) for event in in_order] == [
        ("acc-1", AccountOpened),
        ("acc-2", AccountOpened),
        ("acc-1", MoneyDeposited),
    ]


@pytest.mark.parametrize(
    "make_copy",
    [
        pytest.param(lambda account: account.model_copy(), id="model_copy"),
        pytest.param(copy.copy, id="copy.copy"),
        pytest.param(copy.deepcopy, id="copy.deepcopy"),
    ],
)
def test_a_copy_of_an_aggregate_records_its_events_apart_from_the_original(
    account: Account, make_copy: Callable[[Account], Account]
) -> None:
    duplicate = make_copy(account)

    duplicate.deposit(5)

    assert [type(event) for event in account.uncommitted_events] == [AccountOpened]
    assert [type(event) for event in duplicate.uncommitted_events] == [
        AccountOpened,
        MoneyDeposited,
    ]


def test_a_copy_of_an_aggregate_keeps_its_version(stored_account: Account) -> None:
    duplicate = stored_account.model_copy()

    stored_account.mark_committed(9)

    assert duplicate.version == 3


def test_restore_keeps_the_state_and_the_version(stored_account: Account) -> None:
    assert stored_account.version == 3
    assert stored_account.balance == 50
    assert stored_account.owner == "alice"
    assert stored_account.uncommitted_events == ()


@pytest.mark.parametrize(
    "state_json",
    [
        pytest.param('{"id": "acc-1", "owner": "alice", "balance": 50}', id="text"),
        pytest.param(b'{"id": "acc-1", "owner": "alice", "balance": 50}', id="bytes"),
    ],
)
def test_restore_json_keeps_the_state_and_the_version(state_json: str | bytes) -> None:
    restored = Account.restore_json(state_json, version=7)

    assert restored.version == 7
    assert restored.balance == 50
    assert restored.owner == "alice"


def test_restore_refuses_state_its_types_forbid() -> None:
    with pytest.raises(pydantic.ValidationError):
        Account.restore({"id": "acc-1", "owner": "alice", "balance": "lots"}, version=1)


@pytest.mark.parametrize(
    "aggregate",
    [
        pytest.param(Account.open("acc-1", "alice"), id="fields"),
        pytest.param(Priced(id="p-1"), id="computed field and field serializer"),
        pytest.param(Terse(id="t-1"), id="own model_dump_json"),
    ],
)
def test_the_stored_state_is_what_model_dump_json_writes(aggregate: AggregateRoot) -> None:
    assert state_json(aggregate) == aggregate.model_dump_json()


def test_snapshot_is_the_state_as_json_values_without_version_or_events(
    account: Account,
) -> None:
    account.deposit(10)

    assert account.snapshot() == {"id": "acc-1", "owner": "alice", "balance": 10}


def test_a_snapshot_restores_an_equal_aggregate_with_the_same_state(account: Account) -> None:
    account.deposit(10)

    restored = Account.restore(account.snapshot(), version=2)

    assert restored == account
    assert restored.snapshot() == account.snapshot()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("balance", "a lot", id="text-for-an-int"),
        pytest.param("owner", None, id="none-for-a-str"),
    ],
)
def test_assigning_a_value_of_the_wrong_type_is_refused(
    account: Account, field: str, value: object
) -> None:
    before = account.snapshot()

    with pytest.raises(pydantic.ValidationError):
        setattr(account, field, value)

    assert account.snapshot() == before


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        Account(id="acc-1", owner="alice", colour="blue")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("aggregate_class", "expected"),
    [
        pytest.param(Account, "Account", id="defaults-to-the-class-name"),
        pytest.param(Ledger, "accounting.Ledger", id="overridden-by-a-class-attribute"),
        pytest.param(SavingsAccount, "SavingsAccount", id="subclass-gets-its-own-name"),
    ],
)
def test_aggregate_type_names_the_aggregate_in_storage(
    aggregate_class: type[AggregateRoot], expected: str
) -> None:
    assert aggregate_class.aggregate_type == expected


@given(st.lists(st.integers(min_value=1, max_value=1_000_000), max_size=40))
def test_any_sequence_of_deposits_takes_versions_one_to_n_and_sums_the_balance(
    amounts: list[int],
) -> None:
    account = Account(id="acc-1", owner="alice")

    for amount in amounts:
        account.deposit(amount)

    events = account.uncommitted_events
    assert [event.aggregate_version for event in events] == list(range(1, len(amounts) + 1))
    assert account.balance == sum(amounts)
    assert sum(event.amount for event in events if isinstance(event, MoneyDeposited)) == sum(
        amounts
    )
