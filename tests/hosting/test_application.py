"""Applications are self-contained: nothing is process-global (guarantee 7)."""

from __future__ import annotations

import asyncio

import injector
import pytest

from facta import (
    ApplicationBuilder,
    DomainEvent,
    DomainEventHandler,
    HandlerNotFound,
    InMemoryPersistence,
    InMemoryStore,
    UnitOfWork,
)
from support.bank import HANDLERS, Account, Deposit, Journal, OpenAccount


def two_banks() -> tuple[tuple[ApplicationBuilder, Journal], tuple[ApplicationBuilder, Journal]]:
    def bank() -> tuple[ApplicationBuilder, Journal]:
        journal = Journal()

        def bind(binder: injector.Binder) -> None:
            binder.bind(Journal, to=journal)

        return ApplicationBuilder().add_handler(*HANDLERS).add_module(bind), journal

    return bank(), bank()


async def test_two_applications_in_one_process_share_no_state() -> None:
    (first_builder, first_journal), (second_builder, second_journal) = two_banks()
    first, second = first_builder.build(), second_builder.build()

    await first.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    assert len(first_journal.entries) == 1 and second_journal.entries == []
    async with second.operation():
        assert await second.get(UnitOfWork).repository(Account).find("ann") is None


async def test_a_handler_added_to_one_application_is_unknown_to_another() -> None:
    (first_builder, _), (second_builder, _) = two_banks()
    first, second = first_builder.build(), second_builder.build()
    seen: list[DomainEvent] = []

    class Extra(DomainEventHandler[DomainEvent]):
        async def handle(self, event: DomainEvent) -> None:
            seen.append(event)

    first.registry.add(Extra)
    await second.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    assert seen == []
    assert "Extra" not in " ".join(second.mediator.handler_names(DomainEvent))


async def test_an_application_without_a_handler_does_not_borrow_one_from_another() -> None:
    (first_builder, _), _ = two_banks()
    first_builder.build()
    bare = ApplicationBuilder().build()

    with pytest.raises(HandlerNotFound, match="OpenAccount"):
        await bare.mediator.send(OpenAccount(account_id="ann", owner="ann"))


async def test_interleaved_operations_of_two_applications_use_their_own_units_of_work() -> None:
    (first_builder, _), (second_builder, _) = two_banks()
    first, second = first_builder.build(), second_builder.build()
    for app in (first, second):
        await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))

    await asyncio.gather(
        *(first.mediator.send(Deposit(account_id="ann", amount=1)) for _ in range(20)),
        *(second.mediator.send(Deposit(account_id="ann", amount=2)) for _ in range(20)),
    )

    balances = []
    for app in (first, second):
        async with app.operation():
            balances.append((await app.get(UnitOfWork).repository(Account).get("ann")).balance)
    assert balances == [20, 40]


async def test_each_build_gets_its_own_in_memory_store_unless_one_is_given() -> None:
    builder = ApplicationBuilder().use_persistence(InMemoryPersistence())
    first, second = builder.build(), builder.build()

    assert first.get(InMemoryStore) is not second.get(InMemoryStore)


class Lifecycle:
    """Records starts and stops of the services of one test."""

    def __init__(self) -> None:
        self.calls: list[str] = []


class FirstService:
    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle

    async def start(self) -> None:
        self.lifecycle.calls.append("start first")

    async def stop(self) -> None:
        self.lifecycle.calls.append("stop first")


class SecondService(FirstService):
    async def start(self) -> None:
        self.lifecycle.calls.append("start second")

    async def stop(self) -> None:
        self.lifecycle.calls.append("stop second")


async def test_background_services_start_in_order_and_stop_in_reverse() -> None:
    lifecycle = Lifecycle()

    def bind(binder: injector.Binder) -> None:
        binder.bind(Lifecycle, to=lifecycle)

    app = (
        ApplicationBuilder()
        .add_module(bind)
        .add_service(FirstService)
        .add_service(SecondService)
        .build()
    )

    async with app:
        assert lifecycle.calls == ["start first", "start second"]

    assert lifecycle.calls[2:] == ["stop second", "stop first"]
