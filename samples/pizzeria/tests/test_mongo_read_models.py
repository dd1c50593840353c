"""The read models in MongoDB collections: a projection's documents commit with its receipt
or not at all, a late save never takes a view back, money is Decimal128 and times are
dates, and the lists are read through their indexes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from bson.decimal128 import Decimal128

from facta import (
    AlreadyDelivered,
    Application,
    NotFound,
    Outbox,
    OutboxRelay,
    PersistenceError,
    RetryPolicy,
)
from facta.persistence import DeliverySettings, DeliveryStatus
from facta.persistence.mongo import MongoStore
from pizzeria.app import (
    MONGODB_DATABASE,
    close_database,
    create_app,
    pizzeria_builder,
    prepare_database,
    seed_menu,
)
from pizzeria.application.commands import LineRequest, PlaceOrder, StartCooking
from pizzeria.application.queries import GetCustomerOrders, GetMenu, GetOrder
from pizzeria.application.views import OrderSummary
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.domain.menu import Size
from pizzeria.domain.order import OrderStatus
from pizzeria.mongo import ORDERS, MongoOrderReadModels, PizzeriaCollections

pytestmark = pytest.mark.backends("mongodb")

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


def raw(app: Application, collection: str) -> Any:
    """``collection`` of the pizzeria's database without facta's codec options: BSON types
    as they are stored (Decimal128, not Decimal)."""
    store = app.get(MongoStore)
    return store.client.get_database(store.database_name).get_collection(collection)


async def summary_documents(app: Application) -> int:
    return int(await app.get(MongoStore).collection(ORDERS).count_documents({}))


async def receipts(app: Application, handler: str) -> list[str]:
    """The event types ``handler`` has a receipt (a done delivery) of."""
    done = await app.get(Outbox).deliveries(DeliveryStatus.DONE)  # type: ignore[type-abstract]
    return sorted(record.event_type for record in done if record.handler == handler)


async def test_a_projection_that_fails_after_writing_leaves_nothing_and_the_relay_applies_it_once(
    relayed: Application, place_order: OrderCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    save = MongoOrderReadModels.save_order

    async def save_then_fail(self: MongoOrderReadModels, summary: OrderSummary) -> None:
        await save(self, summary)
        raise RuntimeError("the projection failed after writing its document")

    monkeypatch.setattr(MongoOrderReadModels, "save_order", save_then_fail)
    order_id = await relayed.mediator.send(place_order())

    assert await summary_documents(relayed) == 0
    with pytest.raises(NotFound):
        await relayed.mediator.query(GetOrder(order_id=order_id))
    assert await receipts(relayed, SUMMARIES) == []
    assert await receipts(relayed, CUSTOMERS) == ["CustomerRegistered"]

    saved: list[int] = []

    async def save_and_count(self: MongoOrderReadModels, summary: OrderSummary) -> None:
        saved.append(summary.version)
        await save(self, summary)

    monkeypatch.setattr(MongoOrderReadModels, "save_order", save_and_count)
    relay = OutboxRelay(relayed.get(Outbox), relayed.mediator, RETRY_AT_ONCE)  # type: ignore[type-abstract]

    assert await relay.drain() == 2  # OrderPlaced and OrderConfirmed, which needs its summary
    assert await relay.drain() == 0

    summary = await relayed.mediator.query(GetOrder(order_id=order_id))
    assert [change.status for change in summary.history] == [
        OrderStatus.PENDING,
        OrderStatus.CONFIRMED,
    ]
    assert (await summary_documents(relayed), len(saved)) == (1, 2)
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
    read_models = MongoOrderReadModels(PizzeriaCollections(pizzeria.get(MongoStore)))

    await read_models.save_order(older)
    await read_models.save_order(current.model_copy(update={"customer_name": "Nobody"}))

    assert await pizzeria.mediator.query(GetOrder(order_id=order_id)) == current


async def test_text_a_customer_types_is_stored_as_text_never_read_as_an_operator(
    pizzeria: Application, place_order: OrderCommand
) -> None:
    order_id = await pizzeria.mediator.send(place_order(address="$$ROOT"))

    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))

    assert summary.address == "$$ROOT"
    read_models = MongoOrderReadModels(PizzeriaCollections(pizzeria.get(MongoStore)))
    with pytest.raises(PersistenceError, match="no operator can be injected"):
        await read_models.order({"$ne": ""})  # type: ignore[arg-type]


async def test_money_is_decimal128_and_times_are_utc_dates_to_the_millisecond(
    pizzeria: Application, place_order: OrderCommand
) -> None:
    order_id = await pizzeria.mediator.send(
        place_order(LineRequest(pizza="margherita", size=Size.LARGE, quantity=2))
    )

    stored = await raw(pizzeria, ORDERS).find_one({"_id": order_id})
    menu = await raw(pizzeria, "pizzeria_menu").find_one({"_id": "hawaiian"})

    assert isinstance(stored["total"], Decimal128) and str(stored["total"]) == "31.20"
    assert str(stored["lines"][0]["price"]) == "31.20"
    assert (str(menu["base_price"]), str(menu["prices"]["large"])) == ("14.50", "18.85")
    summary = await pizzeria.mediator.query(GetOrder(order_id=order_id))
    assert summary.total == Decimal("31.20") and str(summary.total) == "31.20"
    assert summary.placed_at.utcoffset() == timedelta(0)
    assert summary.placed_at.microsecond % 1000 == 0  # what MongoDB keeps
    assert stored["placed_at"].replace(tzinfo=summary.placed_at.tzinfo) == summary.placed_at


async def test_the_collections_are_prepared_again_without_harm_and_index_the_lists(
    pizzeria: Application,
) -> None:
    await prepare_database(pizzeria)

    information = await pizzeria.get(MongoStore).collection(ORDERS).index_information()
    indexes = {name: [key for key, _ in index["key"]] for name, index in information.items()}
    assert indexes == {
        "_id_": ["_id"],
        "pizzeria_orders_placed": ["placed_at", "arrival"],
        "pizzeria_orders_status": ["status", "placed_at", "arrival"],
        "pizzeria_orders_phone": ["customer_phone", "placed_at", "arrival"],
    }
    assert len(await pizzeria.mediator.query(GetMenu())) == 5


def stages(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The stages of a query plan, from the top."""
    found = [plan]
    for child in ("inputStage", "innerStage", "outerStage"):
        if child in plan:
            found += stages(plan[child])
    for child in plan.get("inputStages", []):
        found += stages(child)
    return found


@pytest.mark.parametrize(
    ("condition", "direction", "index"),
    [
        ({"status": "cooking"}, -1, "pizzeria_orders_status"),
        ({"customer_phone": GIULIA}, -1, "pizzeria_orders_phone"),
        ({"status": "confirmed"}, 1, "pizzeria_orders_status"),  # the kitchen's queue
        ({}, -1, "pizzeria_orders_placed"),
    ],
    ids=["status", "phone", "queue", "all"],
)
async def test_the_lists_are_read_through_their_index_without_sorting(
    pizzeria: Application,
    place_order: OrderCommand,
    condition: dict[str, str],
    direction: int,
    index: str,
) -> None:
    for number in range(3):
        order_id = await pizzeria.mediator.send(place_order(phone=f"+3908155501{number:02}"))
        await pizzeria.mediator.send(StartCooking(order_id=order_id))
    store = pizzeria.get(MongoStore)
    database = store.client.get_database(store.database_name)

    explained = await database.command(
        "explain",
        {
            "find": ORDERS,
            "filter": condition,
            "sort": {"placed_at": direction, "arrival": direction},
            "limit": 20,
        },
        verbosity="queryPlanner",
    )

    plan = stages(explained["queryPlanner"]["winningPlan"])
    assert [stage.get("indexName") for stage in plan if stage["stage"] == "IXSCAN"] == [index]
    assert not [stage for stage in plan if stage["stage"] == "SORT"], plan


async def test_a_url_that_names_no_database_keeps_the_pizzeria_in_the_database_pizzeria(
    database_url: str,
) -> None:
    unnamed = urlunsplit(urlsplit(database_url)._replace(path="/"))
    app = create_app(unnamed)

    assert app.get(MongoStore).database_name == MONGODB_DATABASE
    await close_database(app)


@pytest.mark.backends("memory")
def test_the_in_memory_and_sql_pizzerias_import_no_mongodb_driver(tmp_path: Path) -> None:
    script = (
        "import sys; from pizzeria.app import create_app; create_app(); "
        f"create_app('sqlite:///{tmp_path / 'pizzeria.db'}'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pymongo', 'motor', 'bson') "
        "or m.startswith(('pizzeria.mongo', 'facta.persistence.mongo'))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )

    assert done.stdout.strip() == "[]", done.stdout
