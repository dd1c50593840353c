"""The ``ProjectionStore`` of the SQLAlchemy back-end: ordering checks, replay, lag, and
view tables, over the outbox and deliveries tables.

Whether an event must wait for an earlier one of its aggregate is one query on the
partial index of undelivered events by (aggregate_id, aggregate_version). Swapping a
rebuilt copy of a view type's table in is one transaction: drop the live table, rename
the copy, and rename the copy's indexes (PostgreSQL's index names are global to the
schema, so the next copy could not be created otherwise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import DropTable

from facta.application import HandlerRegistry
from facta.application.ports.outbox import DeliveryStatus, PendingEvent
from facta.application.ports.projection_store import (
    ProjectionLag,
    ProjectionState,
    ProjectionStore,
    PruneRecord,
)
from facta.application.views import View
from facta.domain import DomainEvent, utc_now
from facta.errors import FactaError, PersistenceError
from facta.persistence.sqlalchemy.documents import json_text
from facta.persistence.sqlalchemy.schema import deliveries, outbox, projections, prunes
from facta.persistence.sqlalchemy.views import SqlViewTables, ViewTable, ddl_transaction, index_name

__all__ = ["SqlAlchemyProjectionStore"]

_DONE = DeliveryStatus.DONE.value


def _delivery(*statuses: str) -> Any:
    """Whether the handler bound as ``handler`` has a delivery of the outbox row (in one
    of ``statuses``, if any are given)."""
    condition = (deliveries.c.event_id == outbox.c.event_id) & (
        deliveries.c.handler == bindparam("handler")
    )
    if statuses:
        condition &= deliveries.c.status.in_(statuses)
    return exists().where(condition)


_PREDECESSOR = (
    select(outbox.c.event_id)
    .where(
        outbox.c.aggregate_id == bindparam("aggregate_id"),
        outbox.c.aggregate_version < bindparam("version"),
        outbox.c.delivered_at.is_(None),
        outbox.c.event_type.in_(bindparam("types", expanding=True)),
        ~_delivery(_DONE),
    )
    .order_by(outbox.c.aggregate_version)
    .limit(1)
)

_BLOCKER = select(
    select(projections.c.state).where(projections.c.name == bindparam("handler")).scalar_subquery(),
    _PREDECESSOR.scalar_subquery(),
)
"""A projection's state and its first unapplied predecessor of an event, in one query."""

_HISTORY_ROWS = select(outbox.c.position, outbox.c.event_type, json_text(outbox.c.payload)).where(
    outbox.c.position > bindparam("after"),
    outbox.c.event_type.in_(bindparam("types", expanding=True)),
)
_HISTORY_ALL = _HISTORY_ROWS.order_by(outbox.c.position).limit(bindparam("limit"))
_HISTORY_APPLIED = (
    _HISTORY_ROWS.where(_delivery(_DONE) | (outbox.c.delivered_at.is_not(None) & ~_delivery()))
    .order_by(outbox.c.position)
    .limit(bindparam("limit"))
)

_UNSETTLED = (
    select(func.count(), func.min(outbox.c.recorded_at))
    .select_from(outbox)
    .where(
        outbox.c.delivered_at.is_(None),
        outbox.c.event_type.in_(bindparam("types", expanding=True)),
        ~_delivery(_DONE, DeliveryStatus.DEAD.value),
    )
)
_DEAD = (
    select(func.count())
    .select_from(deliveries.join(outbox, outbox.c.event_id == deliveries.c.event_id))
    .where(
        deliveries.c.handler == bindparam("handler"),
        deliveries.c.status == DeliveryStatus.DEAD.value,
        outbox.c.event_type.in_(bindparam("types", expanding=True)),
    )
)


class SqlAlchemyProjectionStore(ProjectionStore):
    """Projection bookkeeping in facta's tables, and the view tables of ``views``."""

    def __init__(
        self, engine: AsyncEngine, registry: HandlerRegistry, views: SqlViewTables
    ) -> None:
        self._engine = engine
        # one statement reading committed rows needs no transaction: on PostgreSQL that
        # is one round trip instead of BEGIN, the query and COMMIT
        self._reader = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._registry = registry
        self._views = views
        upsert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        statement = upsert(projections).values(
            name=bindparam("name"), state=bindparam("state"), updated_at=bindparam("now")
        )
        self._set_state = statement.on_conflict_do_update(
            index_elements=[projections.c.name],
            set_={"state": statement.excluded.state, "updated_at": statement.excluded.updated_at},
        )

    @asynccontextmanager
    async def _connection(self, what: str) -> AsyncIterator[AsyncConnection]:
        try:
            async with self._engine.begin() as connection:
                yield connection
        except (DBAPIError, OSError) as error:
            raise PersistenceError(f"cannot {what}: {error}") from error

    async def _read_one(self, what: str, statement: Any, parameters: dict[str, Any]) -> Any:
        """The first row of one read-only statement, run outside a transaction."""
        try:
            async with self._reader.connect() as connection:
                return (await connection.execute(statement, parameters)).first()
        except (DBAPIError, OSError) as error:
            raise PersistenceError(f"cannot {what}: {error}") from error

    async def unapplied_predecessor(
        self, event: DomainEvent, handler: str, event_types: Collection[str]
    ) -> UUID | None:
        if not event.aggregate_id:
            return None
        parameters = {
            "aggregate_id": event.aggregate_id,
            "version": event.aggregate_version,
            "types": list(event_types),
            "handler": handler,
        }
        row = await self._read_one("look for an earlier event", _PREDECESSOR, parameters)
        return None if row is None else UUID(str(row[0]))

    async def blocker(
        self, event: DomainEvent, handler: str, event_types: Collection[str]
    ) -> UUID | ProjectionState | None:
        parameters = {
            "aggregate_id": event.aggregate_id,
            "version": event.aggregate_version if event.aggregate_id else 0,
            "types": list(event_types),
            "handler": handler,
        }
        state, waiting = await self._read_one("check a projection's order", _BLOCKER, parameters)
        if state == ProjectionState.PAUSED.value:
            return ProjectionState.PAUSED
        return None if waiting is None else UUID(str(waiting))

    async def history(
        self,
        handler: str,
        event_types: Collection[str],
        after_position: int,
        limit: int,
        *,
        everything: bool,
    ) -> list[PendingEvent]:
        if limit <= 0:
            return []
        statement = _HISTORY_ALL if everything else _HISTORY_APPLIED
        parameters = {
            "after": after_position,
            "types": list(event_types),
            "handler": handler,
            "limit": limit,
        }
        async with self._connection("read the events to replay") as connection:
            rows = (await connection.execute(statement, parameters)).all()
        found: list[PendingEvent] = []
        for position, event_type, payload in rows:
            try:
                event = self._registry.event_type(event_type).model_validate_json(payload)
            except (FactaError, ValueError) as error:
                raise PersistenceError(
                    f"cannot replay the {event_type} event at outbox position {position}: {error}"
                ) from error
            found.append(PendingEvent(position, event, frozenset()))
        return found

    async def lag(self, handler: str, event_types: Collection[str]) -> ProjectionLag:
        parameters = {"types": list(event_types), "handler": handler}
        async with self._connection("measure a projection's lag") as connection:
            pending, oldest = (await connection.execute(_UNSETTLED, parameters)).one()
            dead = await connection.scalar(_DEAD, parameters)
        return ProjectionLag(int(pending or 0), oldest, int(dead or 0))

    async def state(self, projection: str) -> ProjectionState:
        statement = select(projections.c.state).where(projections.c.name == projection)
        async with self._connection("read a projection's state") as connection:
            state = await connection.scalar(statement)
        return ProjectionState.LIVE if state is None else ProjectionState(state)

    async def set_state(self, projection: str, state: ProjectionState) -> None:
        parameters = {"name": projection, "state": state.value, "now": utc_now()}
        async with self._connection("set a projection's state") as connection:
            await connection.execute(self._set_state, parameters)

    async def pruned(self) -> PruneRecord | None:
        statement = select(func.sum(prunes.c.events), func.max(prunes.c.pruned_at))
        async with self._connection("read the record of prunes") as connection:
            events, last = (await connection.execute(statement)).one()
        if last is None:
            return None
        return PruneRecord(int(events), last)

    async def drop_views(self, view_type: type[View]) -> None:
        table = self._views.describe(view_type).table
        try:
            async with ddl_transaction(self._engine) as connection:
                await connection.execute(DropTable(table, if_exists=True))
        except DBAPIError as error:
            raise PersistenceError(f"cannot drop the table {table.name}: {error}") from error
        finally:
            self._views.forget(view_type.view_name)

    async def swap_views(self, live: type[View], copy: type[View]) -> None:
        old = (await self._views.table(copy)).table  # created empty if nothing was written
        live_table = self._views.describe(live)
        new = live_table.table
        quote = self._engine.dialect.identifier_preparer.quote
        try:
            async with ddl_transaction(self._engine) as connection:
                await connection.execute(DropTable(new, if_exists=True))
                await connection.exec_driver_sql(
                    f"ALTER TABLE {quote(old.name)} RENAME TO {quote(new.name)}"
                )
                await self._rename_indexes(connection, old.name, live_table)
        except DBAPIError as error:
            raise PersistenceError(
                f"cannot swap {old.name} in for {new.name}; nothing changed: {error}"
            ) from error
        finally:
            self._views.forget(live.view_name, copy.view_name)

    async def _rename_indexes(self, connection: AsyncConnection, old: str, new: ViewTable) -> None:
        quote = self._engine.dialect.identifier_preparer.quote
        postgres = self._views.dialect == "postgresql"
        name = new.table.name
        indexes = {str(index.name): index for index in new.table.indexes}
        for _, column, _ in new.fields:
            source, target = quote(index_name(old, column)), index_name(name, column)
            if postgres:
                await connection.exec_driver_sql(f"ALTER INDEX {source} RENAME TO {quote(target)}")
            else:  # SQLite cannot rename an index: make it again under its new name
                await connection.exec_driver_sql(f"DROP INDEX {source}")
                await connection.run_sync(indexes[target].create)
        if postgres:
            await connection.exec_driver_sql(
                f"ALTER TABLE {quote(name)} RENAME CONSTRAINT {quote(old + '_pk')} "
                f"TO {quote(name + '_pk')}"
            )
