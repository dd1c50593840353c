"""Ids and filter values from user input cannot inject MongoDB query operators.

A mapping where MongoDB expects a value is read as an operator expression:
``{"id": {"$ne": ""}}`` matches every document. facta builds every filter from fixed
field names and values it checked to be plain (a ``str`` id, a ``UUID`` event id, an aware
``datetime``), so such input is refused with a facta error before any query is sent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import pytest
from pymongo import monitoring

from conftest import Backend, bank_builder
from facta import Application, PersistenceError, UnitOfWork
from facta.persistence import DeliveryStatus
from facta.persistence.mongo.filters import checked_datetime, checked_str, checked_uuid
from support.bank import Account, Journal, OpenAccount

OPERATORS: list[Any] = [{"$ne": ""}, {"$gt": ""}, {"$regex": ".*"}, ["ann"], 0, None]


@pytest.fixture
async def bank(mongo: Backend, journal: Journal) -> Application:
    app = bank_builder(mongo, journal).build()
    await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
    return app


@pytest.mark.parametrize("hostile", [pytest.param(v, id=repr(v)) for v in OPERATORS])
async def test_an_id_that_is_not_a_str_is_refused_by_the_repository(
    bank: Application, hostile: Any
) -> None:
    async with bank.operation():
        accounts = bank.get(UnitOfWork).repository(Account)
        with pytest.raises(PersistenceError, match=r"refused .* as the id of a Account"):
            await accounts.get(hostile)
        with pytest.raises(PersistenceError, match="aggregate ids are str"):
            await accounts.find(hostile)


async def test_an_id_that_looks_like_an_operator_is_only_text(bank: Application) -> None:
    await bank.mediator.send(OpenAccount(account_id="$ne", owner="dollar"))

    async with bank.operation():
        accounts = bank.get(UnitOfWork).repository(Account)
        assert (await accounts.get("$ne")).owner == "dollar"
        assert await accounts.find('{"$ne": ""}') is None


@pytest.fixture
async def dead_letter(bank: Application, journal: Journal) -> Application:
    """One dead-lettered delivery in the outbox of ``bank``."""
    outbox = bank.outbox
    opened = journal.of("audit")[0]
    await outbox.record_failures(opened, ["replayed"], [_failure("replayed")], _one_attempt())
    assert (await outbox.stats()).dead_letters == 1
    return bank


@pytest.mark.parametrize("hostile", [{"$ne": ""}, {"$exists": True}])
async def test_operator_input_to_the_outbox_is_refused_and_changes_nothing(
    dead_letter: Application, hostile: Any
) -> None:
    outbox = dead_letter.outbox
    (record,) = await outbox.deliveries(DeliveryStatus.DEAD)

    with pytest.raises(PersistenceError, match="must be a str"):
        await outbox.replay(handler=hostile)
    with pytest.raises(PersistenceError, match="must be a UUID"):
        await outbox.replay(event_id=hostile)
    with pytest.raises(PersistenceError, match="must be a UUID"):
        await outbox.replay(event_id=str(record.event_id))  # type: ignore[arg-type]
    with pytest.raises(PersistenceError, match="must be a str"):
        await outbox.is_delivered(record.event_id, hostile)
    with pytest.raises(PersistenceError, match="must be a UUID"):
        await outbox.complete([hostile])
    with pytest.raises(PersistenceError, match="timezone-aware datetime"):
        await outbox.prune(hostile)

    assert (await outbox.stats()).dead_letters == 1  # nothing was revived or pruned


async def test_no_query_is_sent_for_refused_input(mongo: Backend) -> None:
    commands: list[str] = []

    class Listener(monitoring.CommandListener):
        def started(self, event: monitoring.CommandStartedEvent) -> None:
            commands.append(event.command_name)

        def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
            return None

        def failed(self, event: monitoring.CommandFailedEvent) -> None:
            return None

    from pymongo import AsyncMongoClient

    from facta.persistence.mongo import MongoPersistence

    assert mongo.url is not None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        mongo.url, event_listeners=[Listener()]
    )
    try:
        app = bank_builder(Backend("spy", lambda: MongoPersistence(client=client))).build()
        await app.outbox.stats()  # the start-up check and indexes
        commands.clear()
        async with app.operation():
            with pytest.raises(PersistenceError):
                await app.get(UnitOfWork).repository(Account).get(cast(str, {"$ne": ""}))
        with pytest.raises(PersistenceError):
            await app.outbox.replay(handler=cast(str, {"$ne": ""}))
        assert commands == []
    finally:
        await client.close()


def test_the_checks_pass_plain_values_and_name_what_they_refused() -> None:
    from uuid import uuid4

    event_id = uuid4()
    now = datetime.now().astimezone()
    assert checked_str("ann", "an id") == "ann"
    assert checked_uuid(event_id, "an event id") == event_id
    assert checked_datetime(now, "a time") == now
    with pytest.raises(PersistenceError, match=r"refused dict \{'\$ne': ''\} as an id: it must"):
        checked_str({"$ne": ""}, "an id")
    with pytest.raises(PersistenceError, match="timezone-aware"):
        checked_datetime(datetime(2024, 1, 1), "a time")
    long = checked_str.__name__ * 50
    with pytest.raises(PersistenceError, match=r"\.\.\. as"):
        checked_str([long], "an id")


def _failure(handler: str) -> Any:
    from facta.errors import HandlerFailure, PermanentFailure

    return HandlerFailure(handler, PermanentFailure("refused"))


def _one_attempt() -> Any:
    from facta.persistence import RetryPolicy

    return RetryPolicy(max_attempts=1, first_delay=timedelta(0))
