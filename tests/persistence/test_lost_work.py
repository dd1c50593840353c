"""Work is never lost silently: a unit of work kept past its operation refuses to be used,
and a manual operation that ends with uncommitted changes says which."""

from __future__ import annotations

import logging

import pytest

from conftest import Backend, bank_builder
from facta import Application, ConfigurationError, InMemoryPersistence, UnitOfWork
from facta.persistence import EventFlow, InMemoryStore, InMemoryUnitOfWork
from support.bank import Account, OpenAccount


@pytest.fixture
async def app() -> Application:
    application = bank_builder(Backend("memory", InMemoryPersistence)).build()
    await application.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    return application


async def kept_unit_of_work(app: Application) -> UnitOfWork:
    async with app.operation():
        return app.get(UnitOfWork)


async def test_loading_through_a_unit_of_work_whose_operation_ended_is_refused(
    app: Application,
) -> None:
    unit_of_work = await kept_unit_of_work(app)

    with pytest.raises(ConfigurationError, match="belonged to an operation that has ended"):
        await unit_of_work.repository(Account).get("ann")


async def test_committing_a_unit_of_work_whose_operation_ended_is_refused(
    app: Application,
) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        ann = await unit_of_work.repository(Account).get("ann")
        ann.deposit(5)
        await unit_of_work.commit()
    ann.deposit(5)

    with pytest.raises(ConfigurationError, match="belonged to an operation that has ended"):
        await unit_of_work.commit()

    async with app.operation():
        assert (await app.get(UnitOfWork).repository(Account).get("ann")).balance == 5


async def test_a_manual_operation_that_ends_with_uncommitted_changes_names_them(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="facta.application"):
        async with app.operation("fix balances"):
            accounts = app.get(UnitOfWork).repository(Account)
            (await accounts.get("ann")).deposit(5)
            accounts.add(Account(id="bob", owner="bob"))

    (record,) = caplog.records
    assert record.getMessage().startswith(
        "operation 'fix balances' ended without committing changes to "
        "Account 'ann', Account 'bob': they are lost"
    )


async def test_a_manual_operation_that_committed_or_only_read_warns_of_nothing(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="facta.application"):
        async with app.operation():
            unit_of_work = app.get(UnitOfWork)
            (await unit_of_work.repository(Account).get("ann")).deposit(5)
            await unit_of_work.commit()
        async with app.operation():
            await app.get(UnitOfWork).repository(Account).get("ann")

    assert caplog.records == []


class DiscardCounting(InMemoryUnitOfWork):
    """A back-end whose ``discard`` has work to do (a transaction to abandon, say)."""

    discarded = 0

    async def discard(self) -> None:
        self.discarded += 1


async def test_a_unit_of_work_that_ends_discards_what_its_back_end_left_open(
    app: Application,
) -> None:
    unit_of_work = DiscardCounting(app.get(InMemoryStore), app.get(EventFlow))

    await unit_of_work.aclose()

    assert unit_of_work.discarded == 1
