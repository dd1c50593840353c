"""A scripted day at Mario's Pizzeria, from opening to closing, on in-memory persistence.

Every command sent, every event committed and every handler run is traced as it
happens (``pizzeria.tracing``); between the scenes the day says what is going on, and it
ends with what the read side shows.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, NamedTuple, TextIO

from facta import Application, Command, DomainError
from pizzeria.app import create_app, seed_menu
from pizzeria.application.commands import (
    CancelOrder,
    ChangePizzaPrice,
    DeliverOrder,
    DispatchOrder,
    LineRequest,
    MarkReady,
    PlaceOrder,
    RetirePizza,
    StartCooking,
)
from pizzeria.application.queries import GetKitchen, GetMenu, GetOrder, ListOrders
from pizzeria.domain.menu import Size, Topping

__all__ = ["run_day"]


class _Guest(NamedTuple):
    phone: str
    name: str
    address: str

    def order(self, *lines: LineRequest) -> PlaceOrder:
        return PlaceOrder(phone=self.phone, name=self.name, address=self.address, lines=lines)


GIULIA = _Guest("+39 081 555 0101", "Giulia Verdi", "Via Roma 12, Napoli")
MARCO = _Guest("+39 081 555 0202", "Marco Rossi", "Piazza Dante 3, Napoli")
ANNA = _Guest("+39 081 555 0303", "Anna Bruno", "Vico Tre Re 7, Napoli")


class _Day:
    def __init__(self, app: Application, out: TextIO) -> None:
        self.app = app
        self.out = out

    def scene(self, title: str) -> None:
        print(f"\n== {title}", file=self.out)

    def say(self, text: str) -> None:
        print(f"   {text}", file=self.out)

    async def refused(self, command: Command[Any]) -> DomainError:
        try:
            await self.app.mediator.send(command)
        except DomainError as error:
            return error
        raise RuntimeError("the day expected a refusal, and the pizzeria accepted")


async def run_day(out: TextIO | None = None) -> int:
    """Play the day, writing to ``out`` (stdout by default); return the exit code, 0."""
    out = out if out is not None else sys.stdout
    app = create_app(trace=out)
    day = _Day(app, out)
    send = app.mediator.send

    day.scene("09:00  Mario opens: the menu goes on sale")
    await seed_menu(app)

    day.scene("11:30  orders come in: Giulia and Marco are new, Giulia comes back for more")
    giulia = await send(
        GIULIA.order(
            LineRequest(pizza="margherita", size=Size.LARGE, quantity=2),
            LineRequest(pizza="hawaiian", extras=(Topping.JALAPENOS, Topping.OLIVES)),
        )
    )
    marco = await send(MARCO.order(LineRequest(pizza="quattro-formaggi")))
    giulia_again = await send(GIULIA.order(LineRequest(pizza="vegetariana", size=Size.SMALL)))
    anna = await send(ANNA.order(LineRequest(pizza="pepperoni", quantity=3)))

    day.scene("12:00  the kitchen cooks three orders at once; the fourth must wait")
    for order_id in (giulia, marco, giulia_again):
        await send(StartCooking(order_id=order_id, by="Luigi"))
    await day.refused(StartCooking(order_id=anna, by="Luigi"))

    day.scene("12:20  Giulia's pizzas are ready: the kitchen frees a slot, Anna's go in")
    await send(MarkReady(order_id=giulia, by="Luigi"))
    await send(StartCooking(order_id=anna, by="Luigi"))

    day.scene("12:30  Paolo drives Giulia's order over")
    await send(DispatchOrder(order_id=giulia, driver="Paolo", by="Mario"))
    await send(DeliverOrder(order_id=giulia))

    day.scene("12:40  Marco cancels while his pizza cooks: its slot is freed too")
    await send(CancelOrder(order_id=marco, reason="plans changed", by="Mario"))
    await day.refused(CancelOrder(order_id=giulia, reason="too late", by="Mario"))

    day.scene("15:00  the manager changes the menu")
    await send(ChangePizzaPrice(name="margherita", base_price=Decimal("12.50")))
    await send(RetirePizza(name="hawaiian"))
    await day.refused(ANNA.order(LineRequest(pizza="hawaiian")))

    day.scene("22:00  closing time: what the read side shows")
    menu = await app.mediator.query(GetMenu())
    day.say("menu: " + ", ".join(f"{item.name} {item.base_price}" for item in menu))
    first = await app.mediator.query(GetOrder(order_id=giulia))
    day.say(f"Giulia's first order still costs {first.total}, as when she placed it")
    kitchen = await app.mediator.query(GetKitchen())
    day.say(
        f"kitchen: {len(kitchen.cooking)} of {kitchen.capacity} slots cooking, "
        f"{len(kitchen.queue)} orders waiting"
    )
    page = await app.mediator.query(ListOrders())
    for summary in page.items:
        day.say(
            f"{summary.order_id[:8]}  {summary.status:<16} {summary.customer_name:<13} "
            f"{summary.total:>6}"
        )
    return 0
