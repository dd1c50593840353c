"""ApplicationScenario: given/when/then through an application's mediator."""

from __future__ import annotations

import typing

import pytest

from facta import (
    Application,
    Command,
    CommandHandler,
    DomainEventHandler,
    HandlerNotFound,
    Mediator,
)
from facta.testing import ApplicationOutcome, ApplicationScenario
from support.bank import (
    AccountOpened,
    Deposit,
    InsufficientFunds,
    Journal,
    MoneyDeposited,
    MoneyWithdrawn,
    OpenAccount,
    Transfer,
)


class OpenThenFail(Command[None]):
    account_id: str


class OpenThenFailHandler(CommandHandler[OpenThenFail, None]):
    """A buggy handler: it has another command committed, then fails."""

    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator

    async def handle(self, command: OpenThenFail) -> None:
        await self.mediator.send(OpenAccount(account_id=command.account_id, owner="nobody"))
        raise RuntimeError("failed after opening")


class WelcomeBonus(DomainEventHandler[AccountOpened]):
    """Credits every new account: its events follow those of the command."""

    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator

    async def handle(self, event: AccountOpened) -> None:
        await self.mediator.send(Deposit(account_id=event.aggregate_id, amount=10))


@pytest.fixture
def scenario(bank: Application) -> ApplicationScenario:
    return ApplicationScenario(bank)


@pytest.fixture
async def with_two_accounts(scenario: ApplicationScenario) -> ApplicationScenario:
    """Alice has 50, Bob has nothing."""
    return await scenario.given(
        OpenAccount(account_id="alice", owner="Alice"),
        Deposit(account_id="alice", amount=50),
        OpenAccount(account_id="bob", owner="Bob"),
    )


async def test_then_passes_when_the_command_committed_the_expected_events(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Transfer(source="alice", target="bob", amount=20))

    assert outcome.then(MoneyWithdrawn(amount=20), MoneyDeposited(amount=20)) is outcome


async def test_when_keeps_the_result_of_the_command(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Deposit(account_id="bob", amount=7))

    assert outcome.result == 7
    assert outcome.error is None


async def test_then_sees_only_what_the_when_command_committed(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Deposit(account_id="bob", amount=7))

    assert [type(event) for event in outcome.events] == [MoneyDeposited]


async def test_given_publishes_events_to_their_handlers(
    scenario: ApplicationScenario, journal: Journal
) -> None:
    opened = AccountOpened(owner="Carol").with_metadata(aggregate_id="carol")

    await scenario.given(opened)

    assert journal.of("audit") == [opened]


async def test_the_events_of_the_handlers_that_followed_are_part_of_the_outcome(
    scenario: ApplicationScenario,
) -> None:
    scenario.app.registry.add(WelcomeBonus)

    outcome = await scenario.when(OpenAccount(account_id="carol", owner="Carol"))

    outcome.then(AccountOpened(owner="Carol"), MoneyDeposited(amount=10))


async def test_when_accepts_an_async_function(with_two_accounts: ApplicationScenario) -> None:
    app = with_two_accounts.app

    outcome = await with_two_accounts.when(
        lambda: app.mediator.send(Deposit(account_id="bob", amount=3))
    )

    outcome.then(MoneyDeposited(amount=3))
    assert outcome.result == 3


async def test_then_fails_on_the_wrong_events(with_two_accounts: ApplicationScenario) -> None:
    outcome = await with_two_accounts.when(Deposit(account_id="bob", amount=7))

    with pytest.raises(AssertionError, match=r"event 0: expected any MoneyWithdrawn, got "):
        outcome.then(MoneyWithdrawn)


async def test_then_fails_on_the_wrong_number_of_events(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Deposit(account_id="bob", amount=7))

    with pytest.raises(AssertionError, match=r"expected events \[\], got "):
        outcome.then()


async def test_then_fails_when_the_command_raised(with_two_accounts: ApplicationScenario) -> None:
    outcome = await with_two_accounts.when(Transfer(source="bob", target="alice", amount=5))

    with pytest.raises(
        AssertionError, match=r"expected events, but the command raised InsufficientFunds: "
    ):
        outcome.then(MoneyWithdrawn, MoneyDeposited)


async def test_then_raises_returns_the_error_of_a_refused_command(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Transfer(source="bob", target="alice", amount=5))

    error = outcome.then_raises(InsufficientFunds, match="the balance is 0")

    assert isinstance(error, InsufficientFunds)
    assert outcome.events == ()


async def test_then_raises_fails_when_the_command_succeeded(
    with_two_accounts: ApplicationScenario,
) -> None:
    outcome = await with_two_accounts.when(Deposit(account_id="bob", amount=7))

    with pytest.raises(
        AssertionError, match="expected InsufficientFunds, but the command succeeded"
    ):
        outcome.then_raises(InsufficientFunds)


async def test_then_raises_fails_when_the_command_raised_another_error(
    scenario: ApplicationScenario,
) -> None:
    outcome = await scenario.when(OpenThenFail(account_id="dora"))

    with pytest.raises(AssertionError, match=r"expected InsufficientFunds, got HandlerNotFound"):
        outcome.then_raises(InsufficientFunds)
    assert isinstance(outcome.error, HandlerNotFound)


async def test_then_raises_fails_when_the_refused_command_committed_events(
    scenario: ApplicationScenario,
) -> None:
    scenario.app.registry.add(OpenThenFailHandler)

    outcome = await scenario.when(OpenThenFail(account_id="dora"))

    with pytest.raises(AssertionError, match="a refused command committed events"):
        outcome.then_raises(RuntimeError)


async def test_an_outcome_keeps_the_error_instead_of_raising_it(
    scenario: ApplicationScenario,
) -> None:
    outcome = await scenario.when(Deposit(account_id="nobody", amount=1))

    assert isinstance(outcome, ApplicationOutcome)
    assert outcome.error is not None
    assert outcome.result is None


def test_then_raises_is_typed_as_the_error_it_returns() -> None:
    from facta.testing.scenario import AggregateOutcome

    for method in (AggregateOutcome.then_raises, ApplicationOutcome.then_raises):
        hints = typing.get_type_hints(method)
        assert hints["return"] == hints["error_type"].__args__[0], method
