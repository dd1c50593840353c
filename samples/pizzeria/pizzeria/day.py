"""A scripted day at Mario's Pizzeria, from opening to closing, on a real database.

Every command sent, every event committed and every handler run is traced as it
happens (``pizzeria.tracing``); between the scenes the day says what is going on, and it
ends with what the read side shows and which database it ran on.

By default the day runs on SQLite, in a fresh database file in a temporary folder that
is removed afterwards. Given a database URL it runs there instead, but only on an empty
database: the day tells a story from the opening of the pizzeria (the menu goes on sale,
new customers register, the kitchen is idle), which a database that already holds a
pizzeria would contradict, so it refuses such a database and says so.
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from facta import Application, Command, DomainError, UnitOfWork
from pizzeria.app import MENU, close_database, create_app, prepare_database, seed_menu
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
from pizzeria.domain.kitchen import KITCHEN_ID, Kitchen
from pizzeria.domain.menu import Pizza, Size, Topping
from pizzeria.settings import describe_database

__all__ = ["DAY_ALREADY_PLAYED", "play_day", "run_day"]

DAY_ALREADY_PLAYED = 3
"""The exit code of a day refused because its database already holds a pizzeria."""


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


async def run_day(
    out: TextIO | None = None,
    database_url: str | None = None,
    *,
    in_memory: bool = False,
    err: TextIO | None = None,
) -> int:
    """Play the day, narrating to ``out`` (stdout by default); return the exit code.

    The day runs on a new SQLite file in a temporary folder, on the empty database at
    ``database_url``, or ``in_memory``. It answers 0 when it was played; 1 when the
    database cannot be opened and ``DAY_ALREADY_PLAYED`` when it is not empty, both with
    a message on ``err`` (stderr by default).
    """
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    if in_memory:
        return await _play_on(None, "in memory, without a database", out, err)
    if database_url is not None:
        return await _play_on(database_url, f"on {describe_database(database_url)}", out, err)
    with tempfile.TemporaryDirectory(prefix="pizzeria-day-") as folder:
        url = f"sqlite:///{Path(folder) / 'pizzeria.db'}"
        where = f"on {url} (a new SQLite file, removed with its folder now)"
        return await _play_on(url, where, out, err)


async def _play_on(database_url: str | None, where: str, out: TextIO, err: TextIO) -> int:
    try:
        app = create_app(database_url, trace=out)
    except Exception as error:  # a missing driver or extra, a URL SQLAlchemy refuses
        print(f"cannot play the day {where}: {error}", file=err)
        return 1
    try:
        try:
            await prepare_database(app)
            played_before = await _holds_a_pizzeria(app)
        except Exception as error:  # unreachable, refused, no such database: the driver says
            print(f"cannot play the day {where}: {error}", file=err)
            return 1
        if played_before:
            print(
                f"not playing the day {where}: that database already holds a pizzeria (a "
                f"menu, a kitchen or orders), and the day starts at the opening.\n"
                f"Point PIZZERIA_DATABASE_URL (or --database-url) at an empty database, or "
                f"leave both unset to play on a new SQLite file.",
                file=err,
            )
            return DAY_ALREADY_PLAYED
        await play_day(app, out)
        print(f"\nThe day ran {where}.", file=out)
        return 0
    finally:
        await close_database(app)


async def _holds_a_pizzeria(app: Application) -> bool:
    """Whether the pizzeria's aggregates or orders are stored already."""
    async with app.operation("is the database empty?"):
        uow: UnitOfWork = app.container.get(UnitOfWork)  # type: ignore[type-abstract]
        pizzas = uow.repository(Pizza)
        for command in MENU:
            if await pizzas.find(command.name) is not None:
                return True
        if await uow.repository(Kitchen).find(KITCHEN_ID) is not None:
            return True
    return (await app.mediator.query(ListOrders(page_size=1))).total > 0


async def play_day(app: Application, out: TextIO) -> None:
    """Play the day's scenes on ``app`` (a new, empty pizzeria), narrating to ``out``."""
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
            f"{summary.id[-8:]}  {summary.status:<16} {summary.customer_name:<13} "
            f"{summary.total:>6}"
        )
