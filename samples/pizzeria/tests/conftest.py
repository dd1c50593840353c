"""Fixtures of the pizzeria's tests.

facta's pytest plugin builds a new application per test from ``facta_builder``; here it
is the pizzeria's own composition root, so the tests run what production runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from facta import Application, ApplicationBuilder
from facta.testing import ApplicationScenario
from pizzeria.app import pizzeria_builder, seed_menu
from pizzeria.application.commands import LineRequest, PlaceOrder

GIULIA = "+390815550101"
"""The phone of the customer most tests order as."""

OrderCommand = Callable[..., PlaceOrder]
Place = Callable[..., Awaitable[str]]


@pytest.fixture
def facta_builder() -> ApplicationBuilder:
    """The pizzeria as production composes it (in-memory persistence and read models)."""
    return pizzeria_builder()


@pytest.fixture
async def pizzeria(facta_app: Application) -> Application:
    """The application under test, with the menu of ``PIZZERIA.md`` on sale."""
    await seed_menu(facta_app)
    return facta_app


@pytest.fixture
def scenario(pizzeria: Application, facta_scenario: ApplicationScenario) -> ApplicationScenario:
    """Given/when/then on ``pizzeria`` (the menu is already on sale)."""
    return facta_scenario


@pytest.fixture
def place_order() -> OrderCommand:
    """Builds a ``PlaceOrder``: one medium margherita for Giulia unless told otherwise."""

    def build(
        *lines: LineRequest,
        phone: str = GIULIA,
        name: str = "Giulia Verdi",
        address: str = "Via Roma 12, Napoli",
        email: str | None = None,
    ) -> PlaceOrder:
        return PlaceOrder(
            phone=phone,
            name=name,
            address=address,
            email=email,
            lines=lines or (LineRequest(pizza="margherita"),),
        )

    return build


@pytest.fixture
def place(pizzeria: Application, place_order: OrderCommand) -> Place:
    """Places an order (arguments as ``place_order``) on ``pizzeria``; answers its id."""

    async def send(*lines: LineRequest, **customer: str) -> str:
        return await pizzeria.mediator.send(place_order(*lines, **customer))

    return send
