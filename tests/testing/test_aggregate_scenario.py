"""given/when/then for aggregates: passes on the right expectations, explains the wrong ones."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from facta.testing import AggregateOutcome, AggregateScenario, assert_events, given
from support.bank import (
    Account,
    AccountOpened,
    InsufficientFunds,
    MoneyDeposited,
    MoneyWithdrawn,
)


class CarelessAccount(Account):
    """A buggy aggregate: it changes its balance before checking the rule."""

    def withdraw(self, amount: int) -> None:
        self.balance -= amount
        if self.balance < 0:
            raise InsufficientFunds(f"cannot withdraw {amount}")
        self.record(MoneyWithdrawn(amount=amount))


class ChattyAccount(Account):
    """A buggy aggregate: it records the event before checking the rule."""

    def withdraw(self, amount: int) -> None:
        self.record(MoneyWithdrawn(amount=amount))
        if amount > self.balance:
            raise InsufficientFunds(f"cannot withdraw {amount}")
        self.balance -= amount


def opened() -> Account:
    return Account.open("acc-1", "alice")


def deposit(amount: int) -> Callable[[Account], None]:
    def step(account: Account) -> None:
        account.deposit(amount)

    return step


@pytest.fixture
def funded() -> AggregateScenario[Account]:
    """An account opened with a deposit of 50, as history."""
    return given(opened, deposit(50))


def test_then_passes_when_the_step_recorded_the_expected_event_classes(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.withdraw(30))

    assert outcome.then(MoneyWithdrawn) is outcome


def test_then_passes_when_the_step_recorded_events_with_the_expected_payloads(
    funded: AggregateScenario[Account],
) -> None:
    funded.when(lambda account: account.withdraw(30)).then(MoneyWithdrawn(amount=30))


def test_then_sees_only_the_events_of_the_when_step_not_the_history(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.deposit(5))

    assert [type(event) for event in outcome.events] == [MoneyDeposited]


def test_the_when_step_continues_the_versions_of_the_history(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.deposit(5))

    assert funded.aggregate.version == 2
    assert outcome.events[0].aggregate_version == 3


def test_given_accepts_an_aggregate_as_well_as_a_function_building_one() -> None:
    outcome = given(opened()).when(lambda account: account.deposit(5))

    outcome.then(MoneyDeposited(amount=5))


def test_given_keeps_the_version_of_an_aggregate_loaded_from_storage() -> None:
    stored = Account.restore({"id": "acc-1", "owner": "alice", "balance": 50}, version=4)

    outcome = given(stored).when(lambda account: account.deposit(5))

    assert outcome.aggregate.version == 4
    assert outcome.events[0].aggregate_version == 5


def test_the_result_of_the_when_step_is_kept(funded: AggregateScenario[Account]) -> None:
    outcome = funded.when(lambda account: account.balance)

    assert outcome.result == 50
    assert outcome.error is None


def test_then_state_passes_when_the_check_holds(funded: AggregateScenario[Account]) -> None:
    funded.when(lambda account: account.withdraw(30)).then(MoneyWithdrawn).then_state(
        lambda account: account.balance == 20
    )


def test_then_state_fails_when_the_check_does_not_hold(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.withdraw(30))

    with pytest.raises(AssertionError, match="state check failed"):
        outcome.then_state(lambda account: account.balance == 0)


@pytest.mark.parametrize(
    ("expected", "message"),
    [
        pytest.param(
            (MoneyDeposited,),
            "event 0: expected any MoneyDeposited, got MoneyWithdrawn({'amount': 30})",
            id="other-class",
        ),
        pytest.param(
            (MoneyWithdrawn(amount=31),),
            "event 0: expected MoneyWithdrawn({'amount': 31}), got MoneyWithdrawn({'amount': 30})",
            id="other-payload",
        ),
        pytest.param(
            (MoneyWithdrawn, MoneyWithdrawn),
            "expected events ['any MoneyWithdrawn', 'any MoneyWithdrawn'], "
            "got [\"MoneyWithdrawn({'amount': 30})\"]",
            id="too-many",
        ),
        pytest.param(
            (),
            "expected events [], got [\"MoneyWithdrawn({'amount': 30})\"]",
            id="none-expected",
        ),
    ],
)
def test_then_fails_with_a_description_of_the_wrong_events(
    funded: AggregateScenario[Account], expected: tuple[object, ...], message: str
) -> None:
    outcome = funded.when(lambda account: account.withdraw(30))

    with pytest.raises(AssertionError) as caught:
        outcome.then(*expected)  # type: ignore[arg-type]

    assert message in str(caught.value)


def test_then_fails_when_the_step_raised(funded: AggregateScenario[Account]) -> None:
    outcome = funded.when(lambda account: account.withdraw(500))

    with pytest.raises(AssertionError) as caught:
        outcome.then(MoneyWithdrawn)

    assert str(caught.value).startswith(
        "expected events, but the step raised InsufficientFunds: cannot withdraw 500"
    )
    assert caught.value.__cause__ is outcome.error


def test_then_raises_returns_the_error_of_a_refused_step(
    funded: AggregateScenario[Account],
) -> None:
    error = funded.when(lambda account: account.withdraw(500)).then_raises(
        InsufficientFunds, match="the balance is 50"
    )

    assert isinstance(error, InsufficientFunds)


def test_then_raises_fails_when_the_step_succeeded(funded: AggregateScenario[Account]) -> None:
    outcome = funded.when(lambda account: account.withdraw(30))

    with pytest.raises(AssertionError, match="expected InsufficientFunds, but the step succeeded"):
        outcome.then_raises(InsufficientFunds)


def test_then_raises_fails_when_the_step_raised_another_error(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.withdraw("lots"))  # type: ignore[arg-type]

    with pytest.raises(AssertionError, match=r"expected InsufficientFunds, got TypeError: "):
        outcome.then_raises(InsufficientFunds)


def test_then_raises_fails_when_the_error_text_does_not_match(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.withdraw(500))

    with pytest.raises(AssertionError, match=r"'overdraft' is not in 'cannot withdraw 500"):
        outcome.then_raises(InsufficientFunds, match="overdraft")


def test_then_raises_fails_when_the_refused_step_changed_the_state() -> None:
    outcome = given(CarelessAccount(id="acc-1", owner="alice")).when(
        lambda account: account.withdraw(10)
    )

    with pytest.raises(AssertionError, match="a refused step changed the aggregate's state"):
        outcome.then_raises(InsufficientFunds)


def test_then_raises_fails_when_the_refused_step_recorded_events() -> None:
    outcome = given(ChattyAccount(id="acc-1", owner="alice")).when(
        lambda account: account.withdraw(10)
    )

    with pytest.raises(AssertionError, match="a refused step recorded events"):
        outcome.then_raises(InsufficientFunds)


def test_an_outcome_keeps_the_error_instead_of_raising_it(
    funded: AggregateScenario[Account],
) -> None:
    outcome = funded.when(lambda account: account.withdraw(500))

    assert isinstance(outcome, AggregateOutcome)
    assert isinstance(outcome.error, InsufficientFunds)


def test_assert_events_matches_classes_and_instances_one_for_one() -> None:
    account = opened()
    account.deposit(5)

    assert_events(account.uncommitted_events, [AccountOpened(owner="alice"), MoneyDeposited])
