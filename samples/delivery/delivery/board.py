"""The delivery board: the read side, one row per delivery in ``delivery_board``.

``DeliveryBoardProjection`` keeps it: a domain event handler of every ``DeliveryEvent``
that writes the delivery's current state in the handler's own unit of work, so the row
commits with the handler's receipt (the outbox runs it again if it failed). Writing the
whole state, and only over an older version, makes a late or repeated run harmless.
``DeliveryBoard`` reads it through the engine for the queries.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    RowMapping,
    String,
    Table,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from delivery.domain import Delivery, DeliveryEvent, DeliveryStatus, Parcel
from facta import ConfigurationError, DomainEventHandler, UnitOfWork
from facta.persistence.sqlalchemy import SqlAlchemyUnitOfWork, UtcDateTime, create_schema

__all__ = [
    "DeliveryBoard",
    "DeliveryBoardProjection",
    "DeliveryView",
    "board",
    "create_tables",
    "metadata",
]

metadata = MetaData()
"""The delivery service's own tables (facta's are in ``facta.persistence.sqlalchemy``)."""

board = Table(
    "delivery_board",
    metadata,
    Column("order_id", String(64), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("customer_name", String(200), nullable=False),
    Column("phone", String(32), nullable=False),
    Column("address", String(300), nullable=False),
    Column("parcels", JSON, nullable=False),
    Column("pizzas", Integer, nullable=False),
    Column("amount_due", String(32), nullable=False),  # the exact decimal, as text
    Column("currency", String(3), nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("planned_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Column("delivered_by", String(200), nullable=True),
    Column("version", Integer, nullable=False),
    Index("delivery_board_open", "status", "ordered_at"),
)
"""One row per delivery, as the board shows it."""


class DeliveryView(BaseModel):
    """One delivery as the board shows it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    status: DeliveryStatus
    customer_name: str
    phone: str
    address: str
    parcels: tuple[Parcel, ...]
    pizzas: int
    amount_due: Decimal
    currency: str
    ordered_at: AwareDatetime
    planned_at: AwareDatetime
    delivered_at: AwareDatetime | None
    delivered_by: str | None


async def create_tables(engine: AsyncEngine) -> None:
    """Create facta's tables and the board's where they are missing; idempotent."""
    await create_schema(engine)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


class DeliveryBoardProjection(DomainEventHandler[DeliveryEvent]):
    """Writes the delivery an event is about, as it is now, to ``delivery_board``."""

    def __init__(self, uow: UnitOfWork) -> None:
        if not isinstance(uow, SqlAlchemyUnitOfWork):
            raise ConfigurationError(
                f"the delivery board is a SQL table and this application's unit of work is "
                f"a {type(uow).__name__}: install SqlAlchemyPersistence"
            )
        self._uow = uow

    async def handle(self, event: DeliveryEvent) -> None:
        delivery = await self._uow.repository(Delivery).get(event.aggregate_id)
        await _save(await self._uow.connection(), _row(delivery))


class DeliveryBoard:
    """Reads the board through the engine (the queries change nothing)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def open_deliveries(self) -> list[DeliveryView]:
        """The deliveries still to make, the oldest order first."""
        statement = (
            select(board)
            .where(board.c.status == DeliveryStatus.PLANNED.value)
            .order_by(board.c.ordered_at, board.c.order_id)
        )
        return await self._views(statement)

    async def delivery(self, order_id: str) -> DeliveryView | None:
        """The delivery of ``order_id``, or None if none is on the board."""
        views = await self._views(select(board).where(board.c.order_id == order_id))
        return views[0] if views else None

    async def _views(self, statement: Any) -> list[DeliveryView]:
        async with self._engine.connect() as connection:
            rows: Sequence[Any] = (await connection.execute(statement)).all()
        return [_view(row._mapping) for row in rows]


def _row(delivery: Delivery) -> dict[str, Any]:
    return {
        "order_id": delivery.order_id,
        "status": delivery.status.value,
        "customer_name": delivery.customer_name,
        "phone": delivery.phone,
        "address": delivery.address,
        "parcels": [parcel.model_dump(mode="json") for parcel in delivery.parcels],
        "pizzas": delivery.pizzas,
        "amount_due": str(delivery.amount_due),
        "currency": delivery.currency,
        "ordered_at": delivery.ordered_at,
        "planned_at": delivery.planned_at,
        "delivered_at": delivery.delivered_at,
        "delivered_by": delivery.delivered_by,
        "version": delivery.version,
    }


def _view(row: RowMapping) -> DeliveryView:
    return DeliveryView.model_validate(
        {**row, "amount_due": Decimal(row["amount_due"]), "parcels": row["parcels"]}
    )


async def _save(connection: AsyncConnection, row: dict[str, Any]) -> None:
    """Insert the row, or replace a stored row of an older version."""
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(board).values(**row)
    await connection.execute(
        insert.on_conflict_do_update(
            index_elements=[board.c.order_id],
            set_={name: insert.excluded[name] for name in row if name != "order_id"},
            where=board.c.version < insert.excluded.version,
        )
    )
