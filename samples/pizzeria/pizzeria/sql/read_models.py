"""The read models in SQL tables, on whichever connection they are given.

``SqlMenuReadModel`` and ``SqlOrderReadModels`` run each statement on a connection from
their ``Connect``: the event handler's unit of work (``in_unit_of_work``), so that the
rows a projection saves commit with the handler's receipt, or the engine
(``engine.connect``) for the queries, which change nothing.

Saving is one upsert that keeps a stored row of the same or a later version, so a late
or repeated save never takes a view back in time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from facta import ConfigurationError, UnitOfWork
from facta.persistence.sqlalchemy import SqlAlchemyUnitOfWork
from pizzeria.application.views import CustomerSummary, KitchenBoard, MenuItem, OrderSummary
from pizzeria.domain.kitchen import DEFAULT_CAPACITY, KITCHEN_ID
from pizzeria.domain.menu import Size
from pizzeria.domain.order import OrderStatus
from pizzeria.sql.tables import customers, kitchen, menu, orders

__all__ = ["Connect", "SqlMenuReadModel", "SqlOrderReadModels", "in_unit_of_work"]

Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]
"""Where a read model's statements run: a connection, for the span of one method."""

_PRICE_COLUMNS = {Size.SMALL: "price_small", Size.MEDIUM: "price_medium", Size.LARGE: "price_large"}


def in_unit_of_work(uow: UnitOfWork) -> Connect:
    """The connection of ``uow``, which must be a ``SqlAlchemyUnitOfWork``.

    What is written on it commits when the unit of work commits (for an event handler:
    with its receipt), and is rolled back when the handler fails.
    """
    if not isinstance(uow, SqlAlchemyUnitOfWork):
        raise ConfigurationError(
            f"the SQL read models write in the unit of work's transaction, and this "
            f"application's unit of work is a {type(uow).__name__}: install them with "
            f"SqlAlchemyPersistence, or use InMemoryReadModels"
        )

    @asynccontextmanager
    async def connect() -> AsyncIterator[AsyncConnection]:
        yield await uow.connection()  # the unit of work closes it, not us

    return connect


async def _upsert(
    connection: AsyncConnection,
    table: Table,
    row: Mapping[str, Any],
    key: str,
    versioned: bool = True,
) -> None:
    """Insert ``row``, or update the row with its ``key``: only to a later version when
    ``versioned``."""
    insert = (postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert)(
        table
    ).values(**row)
    changed = {name: insert.excluded[name] for name in row if name != key}
    guard = table.c.version < insert.excluded.version if versioned else None
    await connection.execute(
        insert.on_conflict_do_update(index_elements=[table.c[key]], set_=changed, where=guard)
    )


class SqlMenuReadModel:
    """``MenuReader`` and ``MenuReadModel`` in ``pizzeria_menu``."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def pizza(self, name: str) -> MenuItem | None:
        async with self._connect() as connection:
            row = (await connection.execute(select(menu).where(menu.c.name == name))).first()
        return None if row is None else _menu_item(row._mapping)

    async def save_pizza(self, item: MenuItem) -> None:
        row = {
            "name": item.name,
            "base_price": item.base_price,
            "toppings": item.toppings,
            "retired": item.retired,
            "version": item.version,
            **{column: item.prices[size] for size, column in _PRICE_COLUMNS.items()},
        }
        async with self._connect() as connection:
            await _upsert(connection, menu, row, "name")

    async def menu(self) -> list[MenuItem]:
        statement = select(menu).where(menu.c.retired.is_(False)).order_by(menu.c.name)
        async with self._connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [_menu_item(row._mapping) for row in rows]


def _menu_item(row: RowMapping) -> MenuItem:
    return MenuItem(
        name=row["name"],
        base_price=row["base_price"],
        toppings=row["toppings"],
        prices={size: row[column] for size, column in _PRICE_COLUMNS.items()},
        retired=row["retired"],
        version=row["version"],
    )


class SqlOrderReadModels:
    """``OrderReader`` and ``OrderReadModels`` in ``pizzeria_orders``, ``pizzeria_kitchen``
    and ``pizzeria_customers``."""

    def __init__(self, connect: Connect) -> None:
        self._connect = connect

    async def order(self, order_id: str) -> OrderSummary | None:
        summaries = await self._summaries(select(orders).where(orders.c.order_id == order_id))
        return summaries[0] if summaries else None

    async def save_order(self, summary: OrderSummary) -> None:
        row = {name: getattr(summary, name) for name in OrderSummary.model_fields}
        row["status"] = summary.status.value
        async with self._connect() as connection:
            await _upsert(connection, orders, row, "order_id")

    async def orders(
        self,
        *,
        status: OrderStatus | None = None,
        phone: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[OrderSummary], int]:
        conditions: list[ColumnElement[bool]] = []
        if status is not None:
            conditions.append(orders.c.status == status.value)
        if phone is not None:
            conditions.append(orders.c.customer_phone == phone)
        page = (
            select(orders)
            .where(*conditions)
            .order_by(orders.c.placed_at.desc(), orders.c.position.desc())
            .offset(offset)
            .limit(limit)
        )
        count = select(func.count()).select_from(orders).where(*conditions)
        async with self._connect() as connection:
            total = (await connection.execute(count)).scalar_one()
            rows = (await connection.execute(page)).all() if offset < total else []
        return [_summary(row._mapping) for row in rows], total

    async def queue(self) -> list[OrderSummary]:
        return await self._summaries(
            select(orders)
            .where(orders.c.status == OrderStatus.CONFIRMED.value)
            .order_by(orders.c.placed_at, orders.c.position)
        )

    async def kitchen(self) -> KitchenBoard:
        statement = select(kitchen).where(kitchen.c.kitchen_id == KITCHEN_ID)
        async with self._connect() as connection:
            row = (await connection.execute(statement)).first()
        if row is None:
            return KitchenBoard(capacity=DEFAULT_CAPACITY)
        return KitchenBoard(capacity=row.capacity, cooking=row.cooking, version=row.version)

    async def save_kitchen(self, board: KitchenBoard) -> None:
        async with self._connect() as connection:
            await _upsert(
                connection, kitchen, {"kitchen_id": KITCHEN_ID, **board.model_dump()}, "kitchen_id"
            )

    async def customer(self, phone: str) -> CustomerSummary | None:
        statement = select(customers).where(customers.c.phone == phone)
        async with self._connect() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else CustomerSummary.model_validate(dict(row._mapping))

    async def save_customer(self, customer: CustomerSummary) -> None:
        async with self._connect() as connection:
            await _upsert(connection, customers, customer.model_dump(), "phone", versioned=False)

    async def _summaries(self, statement: Select[Any]) -> list[OrderSummary]:
        async with self._connect() as connection:
            rows = (await connection.execute(statement)).all()
        return [_summary(row._mapping) for row in rows]


def _summary(row: RowMapping) -> OrderSummary:
    return OrderSummary.model_validate({k: v for k, v in row.items() if k != "position"})
