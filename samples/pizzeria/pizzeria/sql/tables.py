"""The read models' tables (``pizzeria_*``), beside facta's own, and how to create them.

An order summary is a row with the columns the lists filter and sort on; its lines and
history are JSON documents. ``position`` numbers the summaries as they arrive, so orders
placed in the same microsecond still list in a stable order. The indexes serve the
queries the read side asks: orders newest first (all, of one status, of one phone) and
the kitchen's queue (confirmed, oldest first).
"""

from __future__ import annotations

from pydantic import TypeAdapter
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from facta.persistence.sqlalchemy import create_schema
from pizzeria.domain.order import OrderLine, StatusChange
from pizzeria.sql.columns import Document, Money, UtcTimestamp

__all__ = ["create_tables", "customers", "kitchen", "menu", "metadata", "orders"]

metadata = MetaData()
"""The pizzeria's read-model tables (facta's are in ``facta.persistence.sqlalchemy``)."""

Position = BigInteger().with_variant(Integer(), "sqlite")  # SQLite numbers INTEGER keys itself

menu = Table(
    "pizzeria_menu",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("base_price", Money, nullable=False),
    Column("toppings", Document(TypeAdapter(tuple[str, ...])), nullable=False),
    Column("price_small", Money, nullable=False),
    Column("price_medium", Money, nullable=False),
    Column("price_large", Money, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

orders = Table(
    "pizzeria_orders",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("status", String(20), nullable=False),
    Column("customer_phone", String(20), nullable=False),
    Column("customer_name", String(100), nullable=False),
    Column("address", String(200), nullable=False),
    Column("lines", Document(TypeAdapter(tuple[OrderLine, ...])), nullable=False),
    Column("total", Money, nullable=False),
    Column("placed_at", UtcTimestamp, nullable=False),
    Column("updated_at", UtcTimestamp, nullable=False),
    Column("history", Document(TypeAdapter(tuple[StatusChange, ...])), nullable=False),
    Column("driver", String(100)),
    Column("cancel_reason", String(200)),
    Column("version", Integer, nullable=False),
)
Index("pizzeria_orders_placed", orders.c.placed_at, orders.c.position)
Index("pizzeria_orders_status", orders.c.status, orders.c.placed_at, orders.c.position)
Index("pizzeria_orders_phone", orders.c.customer_phone, orders.c.placed_at, orders.c.position)

kitchen = Table(
    "pizzeria_kitchen",
    metadata,
    Column("kitchen_id", String(40), primary_key=True),
    Column("capacity", Integer, nullable=False),
    Column("cooking", Document(TypeAdapter(tuple[str, ...])), nullable=False),
    Column("version", Integer, nullable=False),
)

customers = Table(
    "pizzeria_customers",
    metadata,
    Column("phone", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("email", String(254)),
    Column("address", String(200), nullable=False),
    Column("registered_at", UtcTimestamp, nullable=False),
)


async def create_tables(engine: AsyncEngine) -> None:
    """Create facta's tables and the pizzeria's where they are missing; idempotent."""
    await create_schema(engine)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
