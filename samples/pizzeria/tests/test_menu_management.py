"""The manager's menu: add a pizza, change its price, retire it. Orders keep their price."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import pytest
from pydantic import ValidationError

from facta import Application, NotFound
from facta.testing import ApplicationScenario
from pizzeria.application.commands import AddPizza, ChangePizzaPrice, LineRequest, RetirePizza
from pizzeria.application.queries import GetMenu, GetOrder
from pizzeria.domain.errors import PizzaAlreadyOnMenu, PizzaNotAvailable
from pizzeria.domain.menu import PizzaAdded, PizzaPriceChanged, PizzaRetired, Size

Place = Callable[..., Awaitable[str]]
DIAVOLA = AddPizza(name="diavola", base_price=Decimal("13"), toppings=("tomato", "salami"))


async def menu_names(app: Application) -> list[str]:
    return [item.name for item in await app.mediator.query(GetMenu())]


async def test_the_menu_opens_with_the_five_pizzas_of_the_spec(pizzeria: Application) -> None:
    menu = await pizzeria.mediator.query(GetMenu())

    assert {item.name: item.base_price for item in menu} == {
        "hawaiian": Decimal("14.50"),
        "margherita": Decimal("12.00"),
        "pepperoni": Decimal("14.00"),
        "quattro-formaggi": Decimal("15.00"),
        "vegetariana": Decimal("13.50"),
    }
    assert [item.name for item in menu] == sorted(item.name for item in menu)
    assert menu[1].toppings == ("tomato", "mozzarella", "basil")


async def test_a_manager_adds_a_pizza_to_the_menu(
    scenario: ApplicationScenario, pizzeria: Application
) -> None:
    outcome = await scenario.when(DIAVOLA)

    outcome.then(
        PizzaAdded(name="diavola", base_price=Decimal("13.00"), toppings=("tomato", "salami"))
    )
    assert "diavola" in await menu_names(pizzeria)


@pytest.mark.parametrize(
    "name",
    [pytest.param("margherita", id="on-sale"), pytest.param("hawaiian", id="retired")],
)
async def test_a_pizza_name_already_used_is_refused(
    scenario: ApplicationScenario, name: str
) -> None:
    await scenario.given(RetirePizza(name="hawaiian"))

    outcome = await scenario.when(AddPizza(name=name, base_price=Decimal("9.00")))

    outcome.then_raises(PizzaAlreadyOnMenu, match=f"{name!r} already exists")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("name", "Diavola", id="name-with-capitals"),
        pytest.param("name", "d", id="name-1-char"),
        pytest.param("name", "d" * 41, id="name-41-chars"),
        pytest.param("name", "spicy diavola", id="name-with-space"),
        pytest.param("base_price", Decimal("0"), id="price-zero"),
        pytest.param("base_price", Decimal("-1.00"), id="price-negative"),
        pytest.param("base_price", Decimal("12.345"), id="price-below-cents"),
    ],
)
def test_a_pizza_needs_a_slug_name_and_a_price_in_cents(field: str, value: object) -> None:
    with pytest.raises(ValidationError, match=field):
        AddPizza.model_validate({"name": "diavola", "base_price": Decimal("13.00"), field: value})


async def test_a_price_change_shows_on_the_menu(
    scenario: ApplicationScenario, pizzeria: Application
) -> None:
    outcome = await scenario.when(ChangePizzaPrice(name="margherita", base_price=Decimal("12.50")))

    outcome.then(
        PizzaPriceChanged(name="margherita", old_price=Decimal("12.00"), new_price=Decimal("12.50"))
    )
    menu = await pizzeria.mediator.query(GetMenu())
    margherita = next(item for item in menu if item.name == "margherita")
    assert margherita.prices[Size.LARGE] == Decimal("16.25")


async def test_an_order_keeps_the_price_it_was_placed_at(
    scenario: ApplicationScenario, pizzeria: Application, place: Place
) -> None:
    before = await place(LineRequest(pizza="margherita", quantity=2))

    await scenario.given(ChangePizzaPrice(name="margherita", base_price=Decimal("13.00")))
    after = await place(LineRequest(pizza="margherita", quantity=2))

    old = await pizzeria.mediator.query(GetOrder(order_id=before))
    new = await pizzeria.mediator.query(GetOrder(order_id=after))
    assert (old.lines[0].base_price, old.total) == (Decimal("12.00"), Decimal("24.00"))
    assert (new.lines[0].base_price, new.total) == (Decimal("13.00"), Decimal("26.00"))


async def test_setting_the_same_price_again_records_nothing(scenario: ApplicationScenario) -> None:
    outcome = await scenario.when(ChangePizzaPrice(name="margherita", base_price=Decimal("12")))

    outcome.then()


async def test_a_retired_pizza_leaves_the_menu(
    scenario: ApplicationScenario, pizzeria: Application
) -> None:
    outcome = await scenario.when(RetirePizza(name="hawaiian"))

    outcome.then(PizzaRetired(name="hawaiian", base_price=Decimal("14.50")))
    assert "hawaiian" not in await menu_names(pizzeria)


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(RetirePizza(name="hawaiian"), id="retire-again"),
        pytest.param(ChangePizzaPrice(name="hawaiian", base_price=Decimal("9")), id="reprice"),
    ],
)
async def test_a_retired_pizza_cannot_be_changed(
    scenario: ApplicationScenario, command: RetirePizza | ChangePizzaPrice
) -> None:
    await scenario.given(RetirePizza(name="hawaiian"))

    outcome = await scenario.when(command)

    outcome.then_raises(PizzaNotAvailable, match="retired")


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(RetirePizza(name="calzone"), id="retire"),
        pytest.param(ChangePizzaPrice(name="calzone", base_price=Decimal("9")), id="reprice"),
    ],
)
async def test_a_pizza_that_was_never_on_the_menu_is_not_found(
    scenario: ApplicationScenario, command: RetirePizza | ChangePizzaPrice
) -> None:
    outcome = await scenario.when(command)

    outcome.then_raises(NotFound, match="Pizza 'calzone' was not found")
