"""The read models in SQL tables: a projection's rows commit with its receipt or not at all,
a late save never takes a view back, and the tables have the indexes the lists need."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Numeric, func, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import AlreadyDelivered, Application, NotFound, Outbox, OutboxRelay, RetryPolicy
from facta.persistence import DeliverySettings, DeliveryStatus
from pizzeria.app import close_database, pizzeria_builder, prepare_database, seed_menu
from pizzeria.application.commands import PlaceOrder
from pizzeria.application.queries import GetCustomerOrders, GetMenu, GetOrder
from pizzeria.application.views import OrderSummary
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.domain.order import OrderStatus
from pizzeria.sql import SqlOrderReadModels
from pizzeria.sql.tables import orders

pytestmark = pytest.mark.backends("sqlite", "postgresql")

OrderCommand = Callable[..., PlaceOrder]
GIULIA = "+390815550101"
SUMMARIES = "pizzeria.application.projections.OrderSummaryProjection"
CUSTOMERS = "pizzeria.application.projections.CustomerProjection"
RETRY_AT_ONCE = DeliverySettings(grace=timedelta(0), retry=RetryPolicy(first_delay=timedelta(0)))


@pytest.fixture
async def relayed(database_url: str) -> AsyncIterator[Application]:
    """The pizzeria with its menu, whose relay may retry a failed handler at once."""
    app = pizzeria_builder(database_url).delivery(RETRY_AT_ONCE).build()
    await prepare_database(app)
    try:
        await seed_menu(app)
        yield app
    finally:
        await close_database(app)


async def summary_rows(app: Application) -> int:
    async with app.get(AsyncEngine).connect() as connection:
        return int(
            (await connection.execute(select(func.count()).select_from(orders))).scalar_one()
        )


async def receipts(app: Application, handler: str) -> list[str]:
    """The event types ``handler`` has a receipt (a done delivery) of."""
    done = await app.get(Outbox).deliveries(DeliveryStatus.DONE)  # type: ignore[type-abstract]
    return sorted(record.event_type for record in done if record.handler == handler)


async def test_a_projection_that_fails_after_writing_leaves_no_row_and_the_relay_applies_it_once(
    relayed: Application, place_order: OrderCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = SqlOrderReadModels.save_order

    async def save_then_fail(self: SqlOrderReadModels, summary: OrderSummary) -> None:
        await save(self, summary)
        raise RuntimeError("the projection failed after writing its row")

    monkeypatch.setattr(SqlOrderReadModels, "save_order", save_then_fail)
    order_id = await relayed.mediator.send(place_order())

    assert await summary_rows(relayed) == 0
    with pytest.raises(NotFound):
        await relayed.mediator.query(GetOrder(order_id=order_id))
    assert await receipts(relayed, SUMMARIES) == []
    assert await receipts(relayed, CUSTOMERS) == ["CustomerRegistered"]

    saved: list[int] = []

    async def save_and_count(self: SqlOrderReadModels, summary: OrderSummary) -> None:
        saved.append(summary.version)
        await save(self, summary)

    monkeypatch.setattr(SqlOrderReadModels, "save_order", save_and_count)
    relay = OutboxRelay(relayed.get(Outbox), relayed.mediator, RETRY_AT_ONCE)  # type: ignore[type-abstract]

    assert await relay.drain() == 2  # OrderPlaced and OrderConfirmed, which needs its summary
    assert await relay.drain() == 0

    summary = await relayed.mediator.query(GetOrder(order_id=order_id))
    assert [change.status for change in summary.history] == [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
    ]
    assert (await summary_rows(relayed), len(saved)) == (1, 2)
    assert await receipts(relayed, SUMMARIES) == ["OrderConfirmed", "OrderPlaced"]
    assert (await relayed.get(Outbox).stats()).pending == 0  # type: ignore[type-abstract]


async def test_an_event_delivered_again_to_a_projection_is_refused_with_its_writes(
    relayed: Application, place_order: OrderCommand
) -> None:
    await relayed.mediator.send(place_order())
    [registered] = [
        record
        for record in await relayed.get(Outbox).deliveries(DeliveryStatus.DONE)  # type: ignore[type-abstract]
        if record.handler == CUSTOMERS
    ]
    again = CustomerRegistered(
        event_id=registered.event_id,
        aggregate_id=GIULIA,
        phone=GIULIA,
        name="Someone Else",
        email=None,
        address="Somewhere 1, Roma",
    )

    report = await relayed.mediator.dispatch(again, only=[CUSTOMERS], durable=True)

    [failure] = report.failures
    assert isinstance(failure.error, AlreadyDelivered)
    customer = (await relayed.mediator.query(GetCustomerOrders(phone=GIULIA))).customer
    assert customer.name == "Giulia Verdi"


async def test_a_late_save_never_takes_a_summary_back(
    pizzeria: Application, place_order: OrderCommand
) -> None:
    order_id = await pizzeria.mediator.send(place_order())
    current = await pizzeria.mediator.query(GetOrder(order_id=order_id))
    older = current.model_copy(
        update={"version": current.version - 1, "status": OrderStatus.PENDING}
    )

    await SqlOrderReadModels(pizzeria.get(AsyncEngine).begin).save_order(older)

    assert await pizzeria.mediator.query(GetOrder(order_id=order_id)) == current


async def test_money_is_numeric_with_two_places(pizzeria: Application) -> None:
    async with pizzeria.get(AsyncEngine).connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {
                column["name"]: column["type"]
                for column in inspect(sync).get_columns("pizzeria_menu")
            }
        )
    money = columns["base_price"]
    assert isinstance(money, Numeric)
    assert (type(money).__name__.upper(), money.precision, money.scale) == ("NUMERIC", 10, 2)
    menu = await pizzeria.mediator.query(GetMenu())
    assert {item.name: item.base_price for item in menu}["hawaiian"] == Decimal("14.50")


async def test_the_tables_are_created_again_without_harm_and_index_the_lists(
    pizzeria: Application,
) -> None:
    await prepare_database(pizzeria)

    async with pizzeria.get(AsyncEngine).connect() as connection:
        indexes = await connection.run_sync(
            lambda sync: {
                index["name"]: index["column_names"]
                for index in inspect(sync).get_indexes("pizzeria_orders")
                if not index["unique"]  # PostgreSQL lists the order_id constraint's too
            }
        )
    assert indexes == {
        "pizzeria_orders_placed": ["placed_at", "position"],
        "pizzeria_orders_phone": ["customer_phone", "placed_at", "position"],
        "pizzeria_orders_status": ["status", "placed_at", "position"],
    }
    assert len(await pizzeria.mediator.query(GetMenu())) == 5


@pytest.mark.backends("sqlite")
async def test_the_lists_of_one_status_or_one_phone_are_read_through_their_index(
    pizzeria: Application,
) -> None:
    plans = []
    async with pizzeria.get(AsyncEngine).connect() as connection:
        for condition in ("status = 'cooking'", "customer_phone = '+390815550101'"):
            rows = await connection.execute(
                text(
                    f"EXPLAIN QUERY PLAN SELECT * FROM pizzeria_orders WHERE {condition} "
                    f"ORDER BY placed_at DESC, position DESC LIMIT 20"
                )
            )
            plans.append(" ".join(str(row[-1]) for row in rows))

    assert "USING INDEX pizzeria_orders_status" in plans[0]
    assert "USING INDEX pizzeria_orders_phone" in plans[1]
    assert not any("TEMP B-TREE" in plan for plan in plans), plans  # no sort: the index orders


def test_the_in_memory_pizzeria_imports_no_database_driver() -> None:
    script = (
        "import sys; from pizzeria.app import create_app; create_app(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'aiosqlite', 'asyncpg', 'pizzeria') and 'sql' in m))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "[]", done.stdout
