"""The composition root: how the pizzeria is assembled into a facta application."""

from __future__ import annotations

from decimal import Decimal
from typing import TextIO

from facta import Application, ApplicationBuilder, MessageKind
from pizzeria.application.commands import AddPizza
from pizzeria.application.read_models import InMemoryReadModels
from pizzeria.tracing import TracingBehavior

__all__ = ["MENU", "create_app", "pizzeria_builder", "seed_menu"]

MENU: tuple[AddPizza, ...] = (
    AddPizza(
        name="margherita",
        base_price=Decimal("12.00"),
        toppings=("tomato", "mozzarella", "basil"),
    ),
    AddPizza(
        name="pepperoni",
        base_price=Decimal("14.00"),
        toppings=("tomato", "mozzarella", "pepperoni"),
    ),
    AddPizza(
        name="vegetariana",
        base_price=Decimal("13.50"),
        toppings=("tomato", "mozzarella", "peppers", "mushrooms", "onions", "olives"),
    ),
    AddPizza(
        name="hawaiian",
        base_price=Decimal("14.50"),
        toppings=("tomato", "mozzarella", "ham", "pineapple"),
    ),
    AddPizza(
        name="quattro-formaggi",
        base_price=Decimal("15.00"),
        toppings=("mozzarella", "gorgonzola", "parmesan", "fontina"),
    ),
)
"""The menu Mario opens with, as the commands that put it on sale."""


def pizzeria_builder(trace: TextIO | None = None) -> ApplicationBuilder:
    """The pizzeria's application builder, on in-memory persistence and read models.

    With ``trace``, every command, committed event and handler run is written to it.
    Each ``build()`` gets read models of its own.
    """
    builder = (
        ApplicationBuilder()
        .scan("pizzeria.domain", "pizzeria.application")
        .add_module(InMemoryReadModels())
    )
    if trace is not None:
        builder.use_behavior(TracingBehavior(trace), on=[MessageKind.COMMAND, MessageKind.EVENT])
    return builder


def create_app(trace: TextIO | None = None) -> Application:
    """A new pizzeria application (see ``pizzeria_builder``); its menu is empty."""
    return pizzeria_builder(trace).build()


async def seed_menu(app: Application) -> None:
    """Put the five pizzas of ``MENU`` on sale."""
    for command in MENU:
        await app.mediator.send(command)
