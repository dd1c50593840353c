"""The composition root: how the pizzeria is assembled into a facta application.

One setting chooses where the data lives, a database URL (``PizzeriaSettings``, which
also holds the web service's tokens; ``pizzeria.web`` serves the application over HTTP):

- none: in-memory persistence (tests, the tutorial);
- ``sqlite:///pizzeria.db`` or ``postgresql://...``: facta's SQLAlchemy back-end
  (imported only then, so the in-memory pizzeria needs no database driver);
- ``mongodb://host:27017/pizzeria?replicaSet=rs0``: facta's MongoDB back-end (imported
  only then). The server must be a replica set (one node is enough); a URL that names no
  database uses the database ``pizzeria``.

The read side is the same everywhere: the projections keep their views in the back-end's
view store (``pizzeria.application.projections``). On a database,
``prepare_database(app)`` creates facta's tables (on MongoDB: checks the server and
creates the indexes) at start-up, idempotently, and ``close_database(app)`` closes the
connections; ``open_pizzeria`` does both around the application's life.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import TextIO
from urllib.parse import urlsplit

import injector

from facta import Application, ApplicationBuilder, ConfigurationError, MessageKind, UnitOfWork
from facta.application.instrumentation import Instrumentation
from pizzeria.application.commands import AddPizza
from pizzeria.domain.menu import Pizza
from pizzeria.settings import PizzeriaSettings
from pizzeria.tracing import TracingBehavior

__all__ = [
    "MENU",
    "MONGODB_DATABASE",
    "DatabaseTables",
    "close_database",
    "create_app",
    "ensure_menu",
    "is_mongodb",
    "open_pizzeria",
    "pizzeria_builder",
    "prepare_database",
    "seed_menu",
]

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

MONGODB_DATABASE = "pizzeria"
"""The MongoDB database the pizzeria uses when its URL names none."""


def is_mongodb(database_url: str | None) -> bool:
    """Whether ``database_url`` is a MongoDB one (``mongodb://`` or ``mongodb+srv://``)."""
    return database_url is not None and database_url.lower().startswith(
        ("mongodb://", "mongodb+srv://")
    )


def _unless_named(mongodb_url: str) -> str | None:
    """``MONGODB_DATABASE`` if ``mongodb_url`` names no database, else None (it does)."""
    return None if urlsplit(mongodb_url).path.strip("/") else MONGODB_DATABASE


# --8<-- [start:pizzeria_builder]
def pizzeria_builder(
    database_url: str | None = None,
    *,
    trace: TextIO | None = None,
    settings: PizzeriaSettings | None = None,
    instrumentation: Instrumentation | None = None,
) -> ApplicationBuilder:
    """The pizzeria's application builder, in memory or on the database at ``database_url``.

    ``settings`` gives the database URL and the rest (the web service's tokens) at once;
    pass it or ``database_url``, not both. With ``trace``, every command, committed event
    and handler run is written to it. With ``instrumentation`` (``pizzeria.telemetry``)
    it records spans and metrics. Each ``build()`` gets a store of its own (in
    memory) or shares the database.
    """
    if settings is None:
        settings = PizzeriaSettings(database_url=database_url)
    elif database_url is not None:
        raise ConfigurationError("give pizzeria_builder a database_url or settings, not both")
    database_url = settings.database_url

    def bind_settings(binder: injector.Binder) -> None:
        binder.bind(PizzeriaSettings, to=settings)

    builder = (
        ApplicationBuilder()
        .scan("pizzeria.domain", "pizzeria.application", "pizzeria.integration")
        .add_module(bind_settings)
    )
    if settings.broker_url is not None:
        from facta.integration.amqp import AmqpPublisher  # needs facta[amqp]

        builder.publish_cloudevents(AmqpPublisher(settings.broker_url, settings.exchange))
    if database_url is not None:  # else the builder's default: in memory, new per build()
        builder.use_persistence(_persistence(database_url))
    if trace is not None:
        builder.use_behavior(TracingBehavior(trace), on=[MessageKind.COMMAND, MessageKind.EVENT])
    if instrumentation is not None:
        builder.instrument(instrumentation)
    return builder


# --8<-- [end:pizzeria_builder]


def _persistence(database_url: str) -> injector.Module:
    """facta's back-end for ``database_url``, its driver imported only now."""
    if is_mongodb(database_url):
        from facta.persistence.mongo import MongoPersistence  # needs facta[mongo]

        return MongoPersistence(database_url, database=_unless_named(database_url))
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence  # needs facta[sqlalchemy]

    return SqlAlchemyPersistence(database_url)


def create_app(database_url: str | None = None, *, trace: TextIO | None = None) -> Application:
    """A new pizzeria application (see ``pizzeria_builder``); its menu is empty.

    On a database, run ``prepare_database`` before using it.
    """
    return pizzeria_builder(database_url, trace=trace).build()


class DatabaseTables:
    """A background service that creates the missing tables (on MongoDB: checks the
    server and creates the indexes) when the application starts.

    Add it before the services that use the database (the outbox relay):
    ``builder.add_service(DatabaseTables).add_service(OutboxRelay)``.
    """

    def __init__(self, settings: PizzeriaSettings, container: injector.Injector) -> None:
        self._settings = settings
        self._container = container

    async def start(self) -> None:
        """Create facta's tables (indexes), those of the views included, where missing."""
        if self._settings.in_memory:
            return
        if is_mongodb(self._settings.database_url):
            from facta.persistence.mongo import MongoStore

            await self._container.get(MongoStore).ready()
            return
        from sqlalchemy.ext.asyncio import AsyncEngine

        from facta.persistence.sqlalchemy import create_schema

        await create_schema(self._container.get(AsyncEngine))

    async def stop(self) -> None:
        """Nothing to do: the persistence back-end closes its connections."""


async def prepare_database(app: Application) -> None:
    """The start-up step: create facta's tables (the views' included) where they are missing.

    Idempotent; in memory there is nothing to do.
    """
    await DatabaseTables(app.get(PizzeriaSettings), app.container).start()


async def close_database(app: Application) -> None:
    """Close the application's database connections; in memory there is nothing to do."""
    settings = app.get(PizzeriaSettings)
    if settings.in_memory:
        return
    if is_mongodb(settings.database_url):
        from facta.persistence.mongo import MongoStore

        await app.get(MongoStore).close()
        return
    from sqlalchemy.ext.asyncio import AsyncEngine

    await app.get(AsyncEngine).dispose()


@asynccontextmanager
async def open_pizzeria(
    database_url: str | None = None, *, trace: TextIO | None = None
) -> AsyncIterator[Application]:
    """A pizzeria application, its tables prepared and its services started, for a block.

    Its services are stopped and its database connections closed when the block ends.
    """
    app = create_app(database_url, trace=trace)
    try:
        await prepare_database(app)
        async with app:
            yield app
    finally:
        await close_database(app)


async def seed_menu(app: Application) -> None:
    """Put the five pizzas of ``MENU`` on sale."""
    for command in MENU:
        await app.mediator.send(command)


async def ensure_menu(app: Application) -> int:
    """Put on sale the pizzas of ``MENU`` that were never on the menu; answer how many.

    On a new database that is the whole menu; afterwards nothing (a retired pizza stays
    retired), so a service can call it at every start.
    """
    async with app.operation("which pizzas of the menu are new?"):
        uow: UnitOfWork = app.container.get(UnitOfWork)  # type: ignore[type-abstract]
        pizzas = uow.repository(Pizza)
        missing = [command for command in MENU if await pizzas.find(command.name) is None]
    for command in missing:
        await app.mediator.send(command)
    return len(missing)
