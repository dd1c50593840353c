"""The relay's two batch statements on PostgreSQL, each one round trip.

Claiming a batch (lease the due rows, read them back with the handlers already settled
for each) and completing it (record the batch's deferred receipts, mark its delivered
events) are each a single statement with common table expressions. A single statement is
atomic on its own, so both run outside an explicit transaction: no ``BEGIN`` and
``COMMIT`` round trips, and the arrays of ids are one parameter each, so the statements
are prepared once whatever the batch's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause, bindparam, text
from sqlalchemy.ext.asyncio import AsyncEngine

from facta.application.ports.outbox import DeliveryStatus, OutboxRow, Receipt
from facta.persistence.sqlalchemy.schema import UtcDateTime

__all__ = ["PostgresBatches"]

_CLAIM = text(
    """
WITH due AS (
    SELECT position FROM facta_outbox
    WHERE delivered_at IS NULL AND available_at <= :now
      AND (locked_until IS NULL OR locked_until <= :now)
    ORDER BY available_at, position
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
), claimed AS (
    UPDATE facta_outbox AS o SET locked_until = :until FROM due
    WHERE o.position = due.position
    RETURNING o.position, o.event_id, o.event_type, CAST(o.payload AS TEXT) AS payload
)
SELECT c.position, c.event_id, c.event_type, c.payload,
       ARRAY(SELECT d.handler FROM facta_deliveries AS d
             WHERE d.event_id = c.event_id AND d.status <> :failed) AS settled
FROM claimed AS c
ORDER BY c.position
"""
).bindparams(bindparam("now", type_=UtcDateTime), bindparam("until", type_=UtcDateTime))

_COMPLETE = text(
    """
WITH receipts AS (
    INSERT INTO facta_deliveries (event_id, handler, status, attempts, last_error, updated_at)
    SELECT DISTINCT r.event_id, r.handler, :done, 0, '', :now
    FROM unnest(CAST(:receipt_ids AS UUID[]), CAST(:handlers AS VARCHAR[])) AS r(event_id, handler)
    ON CONFLICT (event_id, handler) DO UPDATE
        SET status = :done, next_attempt_at = NULL, updated_at = excluded.updated_at
        WHERE facta_deliveries.status = :failed
    RETURNING 1
)
UPDATE facta_outbox SET delivered_at = :now, locked_until = NULL
WHERE event_id = ANY(CAST(:event_ids AS UUID[]))
"""
).bindparams(bindparam("now", type_=UtcDateTime))


class PostgresBatches:
    """The claim and the completion of relay batches on one PostgreSQL engine."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def claim(self, limit: int, now: datetime, until: datetime) -> list[OutboxRow]:
        """Lease up to ``limit`` due events until ``until``, oldest first, with the
        handlers settled for each."""
        rows = await self._run(
            _CLAIM,
            {
                "now": now,
                "until": until,
                "limit": limit,
                "failed": DeliveryStatus.FAILED.value,
            },
        )
        return [
            OutboxRow(position, event_id, event_type, payload, frozenset(settled))
            for position, event_id, event_type, payload, settled in rows
        ]

    async def complete(
        self, event_ids: Sequence[UUID], receipts: Sequence[Receipt], now: datetime
    ) -> None:
        """Record ``receipts`` and mark ``event_ids`` delivered, in one statement."""
        await self._run(
            _COMPLETE,
            {
                "receipt_ids": [receipt.event_id for receipt in receipts],
                "handlers": [receipt.handler for receipt in receipts],
                "event_ids": list(event_ids),
                "now": now,
                "done": DeliveryStatus.DONE.value,
                "failed": DeliveryStatus.FAILED.value,
            },
        )

    async def _run(self, statement: TextClause, parameters: dict[str, Any]) -> list[Any]:
        async with self._engine.connect() as connection:
            result = await connection.execute(statement, parameters)
            return list(result) if result.returns_rows else []
