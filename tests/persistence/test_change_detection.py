"""A commit writes an aggregate's state exactly when its JSON changed, on every back-end.

The unit of work avoids dumping an aggregate whose fields are all immutable (a shallow copy
of them is then a faithful record of its state); these tests try the cases where that
could go wrong: values equal but not identical, values changed and changed back, mutable
values changed in place, frozen value objects, state that serialization reads from
elsewhere, and numbers whose JSON differs while they compare equal.
"""

from __future__ import annotations

import pytest
from pydantic import Field, field_serializer

from conftest import Backend
from facta import AggregateRoot, Application, ApplicationBuilder, UnitOfWork, ValueObject


class Money(ValueObject):
    amount: int
    currency: str


class Wallet(AggregateRoot):
    """Immutable values only: compared through a shallow copy of its fields."""

    owner: str
    balance: Money
    limit: int | float = 0


class Basket(AggregateRoot):
    """A list: compared through its JSON."""

    items: list[str] = Field(default_factory=list)


class Sign(AggregateRoot):
    """Its JSON reads a private attribute: compared through its JSON."""

    text: str
    _loud: bool = False

    @field_serializer("text")
    def _shown(self, text: str) -> str:
        return text.upper() if self._loud else text


@pytest.fixture
async def app(backend: Backend) -> Application:
    application = ApplicationBuilder().use_persistence(backend.persistence()).build()
    async with application.operation():
        unit_of_work = application.get(UnitOfWork)
        unit_of_work.repository(Wallet).add(
            Wallet(id="w", owner="ann", balance=Money(amount=5, currency="EUR"), limit=1)
        )
        unit_of_work.repository(Basket).add(Basket(id="b", items=["tea"]))
        unit_of_work.repository(Sign).add(Sign(id="s", text="open"))
        await unit_of_work.commit()
    return application


async def version(app: Application, aggregate_type: type[AggregateRoot], aggregate_id: str) -> int:
    async with app.operation():
        return (await app.get(UnitOfWork).repository(aggregate_type).get(aggregate_id)).version


async def test_a_field_given_an_equal_but_new_value_is_not_written(app: Application) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        wallet = await unit_of_work.repository(Wallet).get("w")
        wallet.owner = "".join(["a", "nn"])
        wallet.balance = Money(amount=5, currency="EUR")
        await unit_of_work.commit()

    assert await version(app, Wallet, "w") == 1


async def test_a_field_changed_and_changed_back_is_not_written(app: Application) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        wallet = await unit_of_work.repository(Wallet).get("w")
        wallet.owner = "bob"
        wallet.owner = "ann"
        await unit_of_work.commit()

    assert await version(app, Wallet, "w") == 1


async def test_a_value_object_replaced_by_another_is_written(app: Application) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        wallet = await unit_of_work.repository(Wallet).get("w")
        wallet.balance = Money(amount=6, currency="EUR")
        await unit_of_work.commit()

    async with app.operation():
        stored = await app.get(UnitOfWork).repository(Wallet).get("w")
    assert (stored.balance.amount, stored.version) == (6, 2)


async def test_a_number_whose_json_changed_though_it_compares_equal_is_written(
    app: Application,
) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        wallet = await unit_of_work.repository(Wallet).get("w")
        wallet.limit = 1.0  # == 1, but its JSON is 1.0
        await unit_of_work.commit()

    assert await version(app, Wallet, "w") == 2


async def test_a_list_changed_in_place_is_written(app: Application) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        (await unit_of_work.repository(Basket).get("b")).items.append("milk")
        await unit_of_work.commit()

    async with app.operation():
        stored = await app.get(UnitOfWork).repository(Basket).get("b")
    assert (stored.items, stored.version) == (["tea", "milk"], 2)


async def test_state_that_serialization_reads_elsewhere_is_written_when_it_changes(
    app: Application,
) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        sign = await unit_of_work.repository(Sign).get("s")
        sign._loud = True
        await unit_of_work.commit()

    async with app.operation():
        stored = await app.get(UnitOfWork).repository(Sign).get("s")
    assert (stored.text, stored.version) == ("OPEN", 2)


async def test_a_change_after_a_commit_is_written_by_the_next_commit(app: Application) -> None:
    async with app.operation():
        unit_of_work = app.get(UnitOfWork)
        wallet = await unit_of_work.repository(Wallet).get("w")
        basket = await unit_of_work.repository(Basket).get("b")
        wallet.owner = "bob"
        await unit_of_work.commit()
        await unit_of_work.commit()  # nothing changed since: nothing written
        wallet.owner = "cid"
        basket.items.append("milk")
        await unit_of_work.commit()

    assert (await version(app, Wallet, "w"), await version(app, Basket, "b")) == (3, 2)
