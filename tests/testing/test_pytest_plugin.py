"""The pytest plugin's fixtures, with ``facta_builder`` overridden as a user would."""

from __future__ import annotations

import pytest

from conftest import Backend, bank_builder
from facta import Application, ApplicationBuilder
from facta.testing import ApplicationScenario
from support.bank import AccountOpened, Deposit, Journal, MoneyDeposited, OpenAccount


@pytest.fixture
def facta_builder(backend: Backend, journal: Journal) -> ApplicationBuilder:
    """The banking application, as a user's conftest would describe theirs."""
    return bank_builder(backend, journal)


def test_facta_app_is_built_from_the_overridden_builder(facta_app: Application) -> None:
    assert isinstance(facta_app, Application)
    assert OpenAccount in facta_app.registry.request_types


def test_facta_scenario_runs_through_facta_app(
    facta_scenario: ApplicationScenario, facta_app: Application
) -> None:
    assert isinstance(facta_scenario, ApplicationScenario)
    assert facta_scenario.app is facta_app


async def test_facta_scenario_runs_given_when_then(facta_scenario: ApplicationScenario) -> None:
    await facta_scenario.given(OpenAccount(account_id="acc-1", owner="alice"))

    outcome = await facta_scenario.when(Deposit(account_id="acc-1", amount=5))

    outcome.then(MoneyDeposited(amount=5))


@pytest.mark.parametrize("attempt", [pytest.param(1, id="first"), pytest.param(2, id="second")])
async def test_each_test_gets_an_application_of_its_own(
    facta_scenario: ApplicationScenario, attempt: int
) -> None:
    # the same account id is opened in each test: a shared application would refuse it
    outcome = await facta_scenario.when(OpenAccount(account_id="acc-1", owner="alice"))

    outcome.then(AccountOpened(owner="alice"))
