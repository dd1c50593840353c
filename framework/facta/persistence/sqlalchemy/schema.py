"""facta's own tables: aggregates as JSON documents, the outbox, the deliveries, the
streams of event-sourced aggregates, the projections' states and the record of outbox
prunes.

(Each view type's table, ``facta_view_<view_name>``, is created when first used: see
``facta.persistence.sqlalchemy.views``.)

``create_schema(engine)`` creates them (and nothing else) if they are missing. Teams that
migrate with Alembic can import ``metadata`` into their ``env.py`` or copy the DDL that
``ddl(dialect_name)`` prints.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    bindparam,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable
from sqlalchemy.sql.expression import Executable

from facta.application.ports.outbox import DeliveryStatus

__all__ = [
    "UtcDateTime",
    "aggregates",
    "create_schema",
    "ddl",
    "deliveries",
    "events",
    "metadata",
    "outbox",
    "projections",
    "prunes",
    "receipt_statement",
    "snapshots",
]


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("facta stores timezone-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument = JSON().with_variant(postgresql.JSONB(), "postgresql")
Position = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys

metadata = MetaData()

aggregates = Table(
    "facta_aggregates",
    metadata,
    Column("aggregate_type", String(200), nullable=False),
    Column("aggregate_id", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("state", JsonDocument, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("aggregate_type", "aggregate_id", name="facta_aggregates_pk"),
)

outbox = Table(
    "facta_outbox",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("aggregate_id", String(200), nullable=False),
    Column("aggregate_version", BigInteger, nullable=False),
    Column("correlation_id", Uuid),
    Column("causation_id", Uuid),
    Column("payload", JsonDocument, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("available_at", UtcDateTime, nullable=False),
    Column("locked_until", UtcDateTime),
    Column("delivered_at", UtcDateTime),
)

# The relay asks only for undelivered rows: a partial index keeps that cheap however many
# delivered rows the table holds; pruning uses the second.
Index(
    "facta_outbox_due",
    outbox.c.available_at,
    outbox.c.position,
    postgresql_where=outbox.c.delivered_at.is_(None),
    sqlite_where=outbox.c.delivered_at.is_(None),
)
Index(
    "facta_outbox_delivered",
    outbox.c.delivered_at,
    postgresql_where=outbox.c.delivered_at.is_not(None),
    sqlite_where=outbox.c.delivered_at.is_not(None),
)

# A projection asks whether an earlier event of an aggregate is still undelivered
Index(
    "facta_outbox_aggregate",
    outbox.c.aggregate_id,
    outbox.c.aggregate_version,
    postgresql_where=outbox.c.delivered_at.is_(None),
    sqlite_where=outbox.c.delivered_at.is_(None),
)

deliveries = Table(
    "facta_deliveries",
    metadata,
    Column("event_id", Uuid, nullable=False),
    Column("handler", String(300), nullable=False),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("event_id", "handler", name="facta_deliveries_pk"),
)
Index("facta_deliveries_status", deliveries.c.status, deliveries.c.updated_at)

projections = Table(
    "facta_projections",
    metadata,
    Column("name", String(300), primary_key=True),
    Column("state", String(10), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)
"""Projections paused for a rebuild (a projection without a row is live)."""

prunes = Table(
    "facta_prunes",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("events", BigInteger, nullable=False),
    Column("pruned_at", UtcDateTime, nullable=False),
)
"""One row per ``Outbox.prune`` that deleted events: a rebuild cannot replay those."""


@functools.cache
def receipt_statement(dialect: str) -> Executable:
    """The upsert of a handler's receipt (parameters ``event_id``, ``handler``, ``now``).

    It inserts the receipt, or turns a failed delivery into a done one; a delivery that
    is done or dead already is left alone, and the statement then changes no row.
    """
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    receipt = upsert(deliveries).values(
        event_id=bindparam("event_id"),
        handler=bindparam("handler"),
        status=DeliveryStatus.DONE.value,
        attempts=0,
        last_error="",
        updated_at=bindparam("now"),
    )
    return receipt.on_conflict_do_update(
        index_elements=[deliveries.c.event_id, deliveries.c.handler],
        set_={
            "status": DeliveryStatus.DONE.value,
            "next_attempt_at": None,
            "updated_at": receipt.excluded.updated_at,
        },
        where=deliveries.c.status == DeliveryStatus.FAILED.value,
    )


# The streams of event-sourced aggregates, kept for ever (the outbox rows of the same
# events are pruned once delivered). The unique (stream, version) key is what refuses a
# second writer of one version; ``position`` orders every stream's events in commit order.
events = Table(
    "facta_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("stream_type", String(200), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("event_version", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("data", JsonDocument, nullable=False),
    UniqueConstraint("stream_type", "stream_id", "version", name="facta_events_stream"),
)
Index("facta_events_type", events.c.event_type, events.c.position)

snapshots = Table(
    "facta_snapshots",
    metadata,
    Column("stream_type", String(200), nullable=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("state_schema", String(100), nullable=False),
    Column("state", JsonDocument, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("stream_type", "stream_id", "version", name="facta_snapshots_pk"),
)


async def create_schema(engine: AsyncEngine) -> None:
    """Create facta's tables and indexes where they are missing; idempotent (an index
    added by a later facta version is created on an existing table too)."""
    async with engine.begin() as connection:
        await connection.run_sync(_create_all)


def _create_all(connection: Connection) -> None:
    metadata.create_all(connection)
    for table in metadata.sorted_tables:
        for index in table.indexes:
            index.create(connection, checkfirst=True)


def ddl(dialect_name: str = "postgresql") -> str:
    """The CREATE statements of facta's tables for ``postgresql`` or ``sqlite``."""
    dialect = (postgresql if dialect_name == "postgresql" else sqlite).dialect()
    statements = []
    for table in metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            statements.append(str(CreateIndex(index).compile(dialect=dialect)).strip() + ";")
    return "\n\n".join(statements) + "\n"
