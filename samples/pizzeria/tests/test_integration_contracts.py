"""The pizzeria's published contracts: what leaves it as CloudEvents, and in what shape.

The application is composed as ``pizzeria.app`` composes it, plus the contracts
(``pizzeria.integration``) and an in-memory publisher. A day's worth of menu changes and
an order's whole life go through the mediator; every CloudEvent that comes out is
checked against the domain event it publishes and against its contract's JSON schema.

``contract_schemas.json`` beside this file is the published schemas' snapshot: a change
to a contract fails ``test_the_published_schemas_are_unchanged`` on purpose. If the change
only adds an optional field, consumers keep working: accept it with
``PIZZERIA_UPDATE_CONTRACT_SCHEMAS=1 pytest samples/pizzeria/tests/test_integration_contracts.py``.
Anything else is a new version (``...v2``), published beside the old one.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import injector
import jsonschema
import pytest

from facta import Application, DomainEvent, DomainEventHandler, IntegrationEvent
from facta.integration.cloudevents import CloudEvent, to_structured
from facta.integration.publishers import InMemoryPublisher
from pizzeria.app import pizzeria_builder, seed_menu
from pizzeria.application import commands
from pizzeria.domain.customer import CustomerRegistered
from pizzeria.domain.kitchen import KitchenSlotFreed, KitchenSlotTaken
from pizzeria.domain.menu import PizzaAdded, PizzaPriceChanged, PizzaRetired, Size, Topping
from pizzeria.domain.order_events import (
    OrderCancelled,
    OrderConfirmed,
    OrderCookingStarted,
    OrderDelivered,
    OrderDispatched,
    OrderLineAdded,
    OrderLineRemoved,
    OrderPlaced,
    OrderReady,
)
from pizzeria.integration import CONTRACTS, INTEGRATION_EVENTS, Money
from pizzeria.integration.orders import OrderDeliveredV1, OrderPlacedV1

SNAPSHOT = Path(__file__).with_name("contract_schemas.json")
UPDATE_VARIABLE = "PIZZERIA_UPDATE_CONTRACT_SCHEMAS"
GIULIA = "+390815550101"

PUBLISHED: dict[type[DomainEvent], tuple[str, str]] = {
    event: (f"com.mariospizzeria.{name}.v1", f"/mariospizzeria/{area}")
    for event, name, area in [
        (OrderPlaced, "order.placed", "orders"),
        (OrderCookingStarted, "order.cooking-started", "orders"),
        (OrderReady, "order.ready", "orders"),
        (OrderDispatched, "order.dispatched", "orders"),
        (OrderDelivered, "order.delivered", "orders"),
        (OrderCancelled, "order.cancelled", "orders"),
        (CustomerRegistered, "customer.registered", "customers"),
        (PizzaAdded, "menu.pizza-added", "menu"),
        (PizzaPriceChanged, "menu.pizza-price-changed", "menu"),
        (PizzaRetired, "menu.pizza-retired", "menu"),
    ]
}
"""The table of ``PIZZERIA.md``: each published domain event, its type and source."""


class Committed(list[DomainEvent]):
    """Every domain event the application committed, in order."""


class RecordCommitted(DomainEventHandler[DomainEvent]):
    """Keeps each committed domain event, to compare the CloudEvents with."""

    def __init__(self, committed: Committed) -> None:
        self._committed = committed

    async def handle(self, event: DomainEvent) -> None:
        self._committed.append(event)


class Day:
    """What one day at the pizzeria committed and published."""

    def __init__(self, app: Application, publisher: InMemoryPublisher) -> None:
        self.publisher = publisher
        self.published: list[CloudEvent] = publisher.published
        self.committed: Committed = app.get(Committed)

    def event(self, cloudevent: CloudEvent) -> DomainEvent:
        """The committed domain event ``cloudevent`` publishes (by its id)."""
        (event,) = [e for e in self.committed if str(e.event_id) == cloudevent.get_id()]
        return event

    def first(self, cloudevent_type: str) -> CloudEvent:
        """The first CloudEvent of ``cloudevent_type`` published."""
        return self.publisher.of_type(cloudevent_type)[0]


@pytest.fixture
async def day() -> Day:
    """The pizzeria publishing its contracts: the menu opens and changes, one order goes
    from placed to delivered, a second one (same customer) is cancelled."""
    publisher = InMemoryPublisher()
    committed = Committed()

    def bind_recorder(binder: injector.Binder) -> None:
        binder.bind(Committed, to=committed)

    app = (
        pizzeria_builder()
        .scan("pizzeria.integration")
        .publish_cloudevents(publisher)
        .add_handler(RecordCommitted)
        .add_module(bind_recorder)
        .build()
    )
    send = app.mediator.send
    await seed_menu(app)
    await send(commands.ChangePizzaPrice(name="margherita", base_price=Decimal("12.50")))
    await send(commands.AddPizza(name="diavola", base_price=Decimal("13.00"), toppings=("salami",)))
    await send(commands.RetirePizza(name="diavola"))
    extras = (Topping.OLIVES, Topping.HAM)
    lines = (
        commands.LineRequest(pizza="margherita", size=Size.LARGE, extras=extras, quantity=2),
        commands.LineRequest(pizza="pepperoni", size=Size.SMALL),
    )
    address = "Via Roma 12, Napoli"
    order = commands.PlaceOrder(phone=GIULIA, name="Giulia Verdi", address=address, lines=lines)
    order_id = await send(order)
    await send(commands.StartCooking(order_id=order_id, by="Mario"))
    await send(commands.MarkReady(order_id=order_id))
    await send(commands.DispatchOrder(order_id=order_id, driver="Luigi"))
    await send(commands.DeliverOrder(order_id=order_id))
    second = await send(order.model_copy(update={"lines": lines[1:]}))
    await send(commands.CancelOrder(order_id=second, reason="changed her mind"))
    return Day(app, publisher)


def test_the_contracts_are_the_table_of_the_spec() -> None:
    registry = pizzeria_builder().scan("pizzeria.integration").build().registry
    for event_type, (cloudevent_type, source) in PUBLISHED.items():
        (contract,) = registry.contracts(event_type)
        assert contract in CONTRACTS and contract.source == source
        assert registry.integration_type(cloudevent_type) in INTEGRATION_EVENTS
    for internal in (OrderConfirmed, OrderLineAdded, OrderLineRemoved, KitchenSlotTaken):
        assert registry.contracts(internal) == ()
    assert len(CONTRACTS) == len(INTEGRATION_EVENTS) == len(PUBLISHED)


async def test_the_day_publishes_each_contracted_event_once_in_commit_order(day: Day) -> None:
    expected = [PUBLISHED[type(event)][0] for event in day.committed if type(event) in PUBLISHED]
    assert [cloudevent.get_type() for cloudevent in day.published] == expected
    assert expected.count("com.mariospizzeria.menu.pizza-added.v1") == 6
    assert expected.count("com.mariospizzeria.order.placed.v1") == 2
    assert expected.count("com.mariospizzeria.customer.registered.v1") == 1  # one new phone
    assert set(expected) == {cloudevent_type for cloudevent_type, _ in PUBLISHED.values()}


async def test_internal_events_are_not_published(day: Day) -> None:
    internal = [event for event in day.committed if type(event) not in PUBLISHED]
    published_ids = {cloudevent.get_id() for cloudevent in day.published}

    assert {type(event) for event in internal} >= {OrderConfirmed, KitchenSlotTaken}
    assert KitchenSlotFreed in {type(event) for event in internal}
    assert not published_ids & {str(event.event_id) for event in internal}
    assert len(day.published) == len(day.committed) - len(internal)


async def test_each_cloudevent_carries_its_domain_event_id_subject_and_time(day: Day) -> None:
    for cloudevent in day.published:
        event = day.event(cloudevent)
        attributes = cloudevent.get_attributes()
        assert (attributes["type"], attributes["source"]) == PUBLISHED[type(event)]
        assert attributes["id"] == str(event.event_id)
        assert attributes["subject"] == event.aggregate_id != ""
        assert attributes["time"] == event.occurred_at
        assert attributes["datacontenttype"] == "application/json"
        assert attributes["sequence"] == f"{event.aggregate_version:020d}"
        document = json.loads(to_structured(cloudevent))
        assert document["time"].endswith("Z")  # UTC on the wire


async def test_each_cloudevent_data_fits_its_contract_schema(day: Day) -> None:
    schemas = _schemas()
    for cloudevent in day.published:
        data = json.loads(to_structured(cloudevent))["data"]
        validator = jsonschema.Draft202012Validator(
            schemas[cloudevent.get_type()],
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [error.message for error in validator.iter_errors(data)]
        assert not errors, f"{cloudevent.get_type()}: {errors}"


async def test_an_order_placed_says_who_where_what_and_how_much(day: Day) -> None:
    cloudevent = day.first("com.mariospizzeria.order.placed.v1")
    event = day.event(cloudevent)
    assert isinstance(event, OrderPlaced)

    def eur(amount: str) -> dict[str, str]:
        return {"amount": amount, "currency": "EUR"}

    # margherita: 2 x (12.50 x 1.3 + 2 x 1.50) = 38.50; pepperoni: 14.00 x 0.8 = 11.20
    margherita = ("margherita", "large", ["olives", "ham"], 2, eur("38.50"))
    pepperoni = ("pepperoni", "small", [], 1, eur("11.20"))
    keys = ("pizza", "size", "extras", "quantity", "price")
    assert cloudevent.get_data() == {
        "order_id": event.aggregate_id,
        "customer_phone": GIULIA,
        "customer_name": "Giulia Verdi",
        "delivery_address": "Via Roma 12, Napoli",
        "lines": [dict(zip(keys, line, strict=True)) for line in (margherita, pepperoni)],
        "pizzas": 3,
        "total": eur("49.70"),
        "placed_at": event.occurred_at.isoformat().replace("+00:00", "Z"),
    }
    assert OrderPlacedV1.model_validate(cloudevent.get_data()).total == Money.of(Decimal("49.70"))


async def test_the_transitions_name_who_made_them(day: Day) -> None:
    def data(kind: str) -> Any:
        return day.first(f"com.mariospizzeria.order.{kind}.v1").get_data()

    assert data("cooking-started")["started_by"] == "Mario"
    assert data("dispatched")["driver"] == "Luigi"
    assert data("delivered")["delivered_by"] == "Luigi"
    cancelled = data("cancelled")
    assert cancelled["reason"] == "changed her mind"
    assert (cancelled["previous_status"], cancelled["cancelled_by"]) == ("confirmed", "counter")


async def test_customer_and_menu_events_use_their_ids_as_subjects(day: Day) -> None:
    registered = day.first("com.mariospizzeria.customer.registered.v1")
    assert registered.get_subject() == GIULIA
    assert registered.get_data()["email"] is None

    changed = day.first("com.mariospizzeria.menu.pizza-price-changed.v1")
    prices = changed.get_data()
    assert changed.get_subject() == "margherita"
    assert (prices["old_price"]["amount"], prices["new_price"]["amount"]) == ("12.00", "12.50")
    retired = day.first("com.mariospizzeria.menu.pizza-retired.v1")
    assert retired.get_subject() == "diavola"
    assert retired.get_data()["last_price"] == {"amount": "13.00", "currency": "EUR"}


def test_money_is_a_two_place_decimal_string_and_times_are_utc() -> None:
    twelve_fifty = {"amount": "12.50", "currency": "EUR"}
    assert Money.of(Decimal("12.5")).model_dump(mode="json") == twelve_fifty
    assert Money.of(Decimal("0.005")).amount == Decimal("0.01")  # half-up, like the menu
    naples = timezone(timedelta(hours=2))
    delivered = OrderDeliveredV1.model_validate(
        {
            "order_id": "o-1",
            "customer_phone": GIULIA,
            "delivered_by": "Luigi",
            "delivered_at": datetime(2025, 5, 1, 20, 30, tzinfo=naples).isoformat(),
            "a_field_of_a_later_version": True,  # ignored: readers tolerate additions
        }
    )
    assert delivered.delivered_at == datetime(2025, 5, 1, 18, 30, tzinfo=UTC)
    assert delivered.delivered_at.tzinfo is UTC
    assert delivered.model_dump(mode="json")["delivered_at"] == "2025-05-01T18:30:00Z"


def _schemas() -> dict[str, dict[str, Any]]:
    return {data.cloudevent_type: data.json_schema() for data in INTEGRATION_EVENTS}


@pytest.mark.parametrize("data", INTEGRATION_EVENTS, ids=lambda data: data.cloudevent_type)
def test_each_schema_is_a_valid_documented_json_schema(data: type[IntegrationEvent]) -> None:
    schema = data.json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["title"] == data.cloudevent_type
    assert schema["description"]
    for name, field in schema["properties"].items():
        assert field.get("description"), f"{data.cloudevent_type}.{name} is not documented"


def test_the_published_schemas_are_unchanged() -> None:
    current = _schemas()
    if os.environ.get(UPDATE_VARIABLE) == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), f"no snapshot: run with {UPDATE_VARIABLE}=1 to write {SNAPSHOT}"
    snapshot = json.loads(SNAPSHOT.read_text())

    assert sorted(current) == sorted(snapshot), "a published type was added or removed"
    for cloudevent_type, schema in current.items():
        assert schema == snapshot[cloudevent_type], (
            f"the published contract {cloudevent_type} changed. Consumers rely on it: "
            f"publish the change as a new version beside it, or, if it only adds an optional "
            f"field, accept it with {UPDATE_VARIABLE}=1 (see this module's docstring)"
        )
