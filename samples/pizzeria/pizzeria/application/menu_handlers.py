"""The manager's commands on the menu."""

from __future__ import annotations

from facta import CommandHandler, UnitOfWork
from pizzeria.application.commands import AddPizza, ChangePizzaPrice, RetirePizza
from pizzeria.domain.errors import PizzaAlreadyOnMenu
from pizzeria.domain.menu import Pizza

__all__ = ["AddPizzaHandler", "ChangePizzaPriceHandler", "RetirePizzaHandler"]


class AddPizzaHandler(CommandHandler[AddPizza, None]):
    """Puts a pizza on the menu; a name already used (even retired) is refused."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._pizzas = uow.repository(Pizza)

    async def handle(self, command: AddPizza) -> None:
        existing = await self._pizzas.find(command.name)
        if existing is not None:
            raise PizzaAlreadyOnMenu(command.name, existing.retired)
        self._pizzas.add(Pizza.add(command.name, command.base_price, command.toppings))


class ChangePizzaPriceHandler(CommandHandler[ChangePizzaPrice, None]):
    """Changes a pizza's base price; ``facta.NotFound`` for an unknown pizza."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._pizzas = uow.repository(Pizza)

    async def handle(self, command: ChangePizzaPrice) -> None:
        pizza = await self._pizzas.get(command.name)
        pizza.change_price(command.base_price)


class RetirePizzaHandler(CommandHandler[RetirePizza, None]):
    """Retires a pizza; ``facta.NotFound`` for an unknown pizza."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._pizzas = uow.repository(Pizza)

    async def handle(self, command: RetirePizza) -> None:
        pizza = await self._pizzas.get(command.name)
        pizza.retire()
