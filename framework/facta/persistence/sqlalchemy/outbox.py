"""The SQLAlchemy outbox: claiming due events under a lease, recording deliveries.

Claiming is one ``UPDATE ... RETURNING`` over the partial index of undelivered rows; on
PostgreSQL its sub-select takes ``FOR UPDATE SKIP LOCKED``, so concurrent relay workers
never claim one row twice and never wait on each other, and the claim and the completion
of a batch are one statement each (``postgres_batches``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Uuid,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from facta.application import HandlerRegistry
from facta.application.ports.outbox import (
    DECODING,
    Delivery,
    DeliveryRecord,
    DeliveryStatus,
    DeliveryUpdate,
    Outbox,
    OutboxRow,
    OutboxStats,
    Receipt,
)
from facta.domain import DomainEvent, utc_now
from facta.errors import PersistenceError
from facta.persistence.sqlalchemy.documents import json_text
from facta.persistence.sqlalchemy.postgres_batches import PostgresBatches
from facta.persistence.sqlalchemy.schema import deliveries, outbox, prunes, receipt_statement

__all__ = ["DECODING", "SqlAlchemyOutbox"]

_UUIDS = ARRAY(Uuid())


class SqlAlchemyOutbox(Outbox):
    """The outbox in ``facta_outbox`` and ``facta_deliveries``."""

    def __init__(self, engine: AsyncEngine, registry: HandlerRegistry) -> None:
        self._engine = engine
        self._registry = registry
        self._skip_locked = engine.dialect.name == "postgresql"
        self._receipts = receipt_statement(engine.dialect.name)
        self._batches = PostgresBatches(engine) if self._skip_locked else None
        self.claims_overlap = engine.dialect.name != "sqlite"

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a transaction; driver errors become ``PersistenceError``."""
        try:
            async with self._engine.begin() as connection:
                yield connection
        except (DBAPIError, OSError) as error:
            raise PersistenceError(f"the outbox could not be read or written: {error}") from error

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; driver errors become ``PersistenceError``."""
        try:
            async with self._engine.connect() as connection:
                yield connection
        except (DBAPIError, OSError) as error:
            raise PersistenceError(f"the outbox could not be read: {error}") from error

    def event_class(self, event_type: str) -> type[DomainEvent]:
        return self._registry.event_type(event_type)

    async def claim_rows(self, limit: int, lease: timedelta) -> list[OutboxRow]:
        now = utc_now()
        if self._batches is not None:
            try:
                return await self._batches.claim(limit, now, now + lease)
            except (DBAPIError, OSError) as error:
                raise PersistenceError(f"the outbox could not be read: {error}") from error
        due = (
            select(outbox.c.position)
            .where(
                outbox.c.delivered_at.is_(None),
                outbox.c.available_at <= now,
                (outbox.c.locked_until.is_(None)) | (outbox.c.locked_until <= now),
            )
            .order_by(outbox.c.available_at, outbox.c.position)
            .limit(limit)
        )
        if self._skip_locked:
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(outbox)
            .where(outbox.c.position.in_(due.scalar_subquery()))
            .values(locked_until=now + lease)
            .returning(
                outbox.c.position,
                outbox.c.event_id,
                outbox.c.event_type,
                json_text(outbox.c.payload),
            )
        )
        async with self._transaction() as connection:
            rows = sorted((await connection.execute(statement)).all())
            return await self._stored(connection, rows)

    async def complete(self, event_ids: Sequence[UUID], receipts: Sequence[Receipt] = ()) -> None:
        if not (event_ids or receipts):
            return
        now = utc_now()
        if self._batches is not None:
            try:
                return await self._batches.complete(event_ids, receipts, now)
            except (DBAPIError, OSError) as error:
                raise PersistenceError(f"the outbox could not be written: {error}") from error
        async with self._transaction() as connection:
            if receipts:
                await connection.execute(
                    self._receipts,
                    [
                        {"event_id": receipt.event_id, "handler": receipt.handler, "now": now}
                        for receipt in receipts
                    ],
                )
            if event_ids:
                await connection.execute(
                    update(outbox)
                    .where(self._among(outbox.c.event_id, event_ids))
                    .values(delivered_at=now, locked_until=None)
                )

    async def update_deliveries(
        self, event_id: UUID, decide: Callable[[Mapping[str, Delivery]], DeliveryUpdate]
    ) -> None:
        async with self._transaction() as connection:
            known = {
                row.handler: Delivery(
                    DeliveryStatus(row.status),
                    row.attempts,
                    row.last_error,
                    row.next_attempt_at,
                    row.updated_at,
                )
                for row in await connection.execute(
                    select(deliveries).where(deliveries.c.event_id == event_id)
                )
            }
            decided = decide(known)
            for handler, delivery in decided.deliveries.items():
                values: dict[str, Any] = {
                    "status": delivery.status.value,
                    "attempts": delivery.attempts,
                    "last_error": delivery.last_error,
                    "next_attempt_at": delivery.next_attempt_at,
                    "updated_at": delivery.updated_at,
                }
                if handler in known:
                    await connection.execute(
                        update(deliveries)
                        .where(deliveries.c.event_id == event_id, deliveries.c.handler == handler)
                        .values(**values)
                    )
                else:
                    await connection.execute(
                        insert(deliveries).values(event_id=event_id, handler=handler, **values)
                    )
            due = decided.due
            await connection.execute(
                update(outbox)
                .where(outbox.c.event_id == event_id)
                .values(
                    locked_until=None,
                    **({"delivered_at": decided.at} if due is None else {"available_at": due}),
                )
            )

    async def is_delivered(self, event_id: UUID, handler: str) -> bool:
        async with self._reading() as connection:
            status = await connection.scalar(
                select(deliveries.c.status).where(
                    deliveries.c.event_id == event_id, deliveries.c.handler == handler
                )
            )
        return status == DeliveryStatus.DONE.value

    async def pending_rows(self, limit: int) -> list[OutboxRow]:
        statement = (
            select(
                outbox.c.position,
                outbox.c.event_id,
                outbox.c.event_type,
                json_text(outbox.c.payload),
            )
            .where(outbox.c.delivered_at.is_(None))
            .order_by(outbox.c.position)
            .limit(limit)
        )
        async with self._reading() as connection:
            rows = (await connection.execute(statement)).all()
            return await self._stored(connection, rows)

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        statement = (
            select(deliveries, outbox.c.event_type, outbox.c.aggregate_id)
            .join(outbox, outbox.c.event_id == deliveries.c.event_id, isouter=True)
            .order_by(deliveries.c.updated_at.desc())
            .limit(limit)
        )
        if status is not None:
            statement = statement.where(deliveries.c.status == status.value)
        async with self._reading() as connection:
            rows = (await connection.execute(statement)).all()
        return [
            DeliveryRecord(
                event_id=row.event_id,
                event_type=row.event_type or "",
                aggregate_id=row.aggregate_id or "",
                handler=row.handler,
                status=DeliveryStatus(row.status),
                attempts=row.attempts,
                last_error=row.last_error,
                next_attempt_at=row.next_attempt_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    async def replay(self, event_id: UUID | None = None, handler: str | None = None) -> int:
        condition = deliveries.c.status == DeliveryStatus.DEAD.value
        if event_id is not None:
            condition &= deliveries.c.event_id == event_id
        if handler is not None:
            condition &= deliveries.c.handler == handler
        async with self._transaction() as connection:
            revived = (
                (
                    await connection.execute(
                        delete(deliveries).where(condition).returning(deliveries.c.event_id)
                    )
                )
                .scalars()
                .all()
            )
            if revived:
                await connection.execute(
                    update(outbox)
                    .where(outbox.c.event_id.in_(set(revived)))
                    .values(delivered_at=None, available_at=utc_now(), locked_until=None)
                )
        return len(revived)

    async def prune(self, delivered_before: datetime, limit: int | None = None) -> int:
        dead = select(deliveries.c.event_id).where(
            deliveries.c.event_id == outbox.c.event_id,
            deliveries.c.status == DeliveryStatus.DEAD.value,
        )
        doomed = select(outbox.c.event_id).where(
            outbox.c.delivered_at.is_not(None),
            outbox.c.delivered_at < delivered_before,
            ~dead.exists(),
        )
        if limit is not None:
            doomed = doomed.order_by(outbox.c.delivered_at).limit(limit)
        async with self._transaction() as connection:
            event_ids = (await connection.execute(doomed)).scalars().all()
            if not event_ids:
                return 0
            await connection.execute(delete(deliveries).where(deliveries.c.event_id.in_(event_ids)))
            await connection.execute(delete(outbox).where(outbox.c.event_id.in_(event_ids)))
            # recorded for ProjectionStore.pruned: a rebuild cannot replay these events
            await connection.execute(
                insert(prunes).values(events=len(event_ids), pruned_at=utc_now())
            )
        return len(event_ids)

    async def stats(self) -> OutboxStats:
        async with self._reading() as connection:
            pending = await connection.scalar(
                select(func.count()).select_from(outbox).where(outbox.c.delivered_at.is_(None))
            )
            total = await connection.scalar(select(func.count()).select_from(outbox))
            dead = await connection.scalar(
                select(func.count())
                .select_from(deliveries)
                .where(deliveries.c.status == DeliveryStatus.DEAD.value)
            )
        return OutboxStats(int(total or 0) - int(pending or 0), int(pending or 0), int(dead or 0))

    def _among(self, column: ColumnElement[UUID], event_ids: Sequence[UUID]) -> ColumnElement[bool]:
        """``column IN event_ids``: on PostgreSQL one array parameter (``= ANY``), so the
        statement is the same whatever the count, and is prepared once."""
        if self._skip_locked:
            return column == any_(bindparam("event_ids", list(event_ids), type_=_UUIDS))
        return column.in_(list(event_ids))

    async def _stored(self, connection: AsyncConnection, rows: Sequence[Any]) -> list[OutboxRow]:
        """The rows with the handlers settled for each (done or dead)."""
        if not rows:
            return []
        settled: dict[UUID, set[str]] = {}
        for event_id, handler in await connection.execute(
            select(deliveries.c.event_id, deliveries.c.handler).where(
                self._among(deliveries.c.event_id, [row[1] for row in rows]),
                deliveries.c.status != DeliveryStatus.FAILED.value,
            )
        ):
            settled.setdefault(event_id, set()).add(handler)
        return [
            OutboxRow(position, event_id, event_type, payload, frozenset(settled.get(event_id, ())))
            for position, event_id, event_type, payload in rows
        ]
