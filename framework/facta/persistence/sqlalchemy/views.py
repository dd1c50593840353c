"""View tables on SQL: one table per view type, created when first needed.

A view type's views live in ``facta_view_<view_name>``::

    id        text, the primary key
    version   bigint, checked on every update and delete
    document  the view as JSON (JSONB on PostgreSQL)
    <field>   one typed column per field the view declares in ``indexes``, each with an
              index on (field, id); a field named ``version`` or ``document`` gets the
              column ``version_`` or ``document_``

Index kinds map to column types: ``str`` to text (``COLLATE "C"`` on PostgreSQL, so text
sorts by code point everywhere), ``int`` to bigint, ``float`` to double precision,
``Decimal`` to numeric (SQLite compares it as a float; the document keeps it exact),
``bool``, aware ``datetime`` in UTC (``UtcDateTime``), ``date`` and ``UUID``; an enum is
stored by its value. ``SqlViewTables`` (one per application's engine) creates each table
outside any unit of work's transaction the first time a view type is used, and refuses a
table whose columns no longer match the view's declared indexes: that view's projection
must be rebuilt (``facta projections rebuild NAME``), which creates a fresh table.
"""

from __future__ import annotations

import asyncio
import hashlib
import typing
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Connection,
    Date,
    Double,
    Executable,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    Uuid,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.types import TypeEngine

from facta.application.ports.view_store import StoredView, ViewWrite
from facta.application.views import IndexKind, View, ViewQuery, index_kind, normalized_value
from facta.errors import ConfigurationError, PersistenceError
from facta.persistence.sqlalchemy.documents import json_param, json_text
from facta.persistence.sqlalchemy.schema import JsonDocument, UtcDateTime

__all__ = ["SqlViewTables", "ViewTable", "ddl_transaction", "index_name", "table_name"]

_TEXT = Text().with_variant(postgresql.TEXT(collation="C"), "postgresql")

_TYPES: dict[IndexKind, TypeEngine[Any]] = {
    "str": _TEXT,
    "int": BigInteger(),
    "float": Double(),
    "decimal": Numeric(),
    "bool": Boolean(),
    "datetime": UtcDateTime(),
    "date": Date(),
    "uuid": Uuid(),
}

_RESERVED = ("id", "version", "document")
_MAX_NAME = 63  # PostgreSQL's identifier limit
_QUERY_CACHE = 256


def table_name(view_type: type[View]) -> str:
    """The table of a view type: ``facta_view_<view_name>``."""
    return f"facta_view_{view_type.view_name}"


def index_name(table: str, column: str) -> str:
    """The name of the index of ``column`` on ``table`` (hashed to fit 63 characters)."""
    name = f"{table}_{column}"
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:12]
    return f"{table[:50]}_{digest}"


def column_name(field_name: str) -> str:
    """The column of an indexed field (its own name, unless that names a fixed column)."""
    return f"{field_name}_" if field_name in _RESERVED else field_name


@asynccontextmanager
async def ddl_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction for schema changes, atomic on SQLite too (whose driver would
    otherwise run each DDL statement in a transaction of its own)."""
    async with engine.begin() as connection:
        if engine.dialect.name == "sqlite":
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        yield connection


@dataclass(eq=False)
class ViewTable:
    """The table of one view type and its prebuilt statements."""

    view_type: type[View]
    table: Table
    fields: tuple[tuple[str, str, IndexKind], ...]  # (field, column, kind)
    dialect: str
    load: Executable = field(init=False)
    insert: Executable = field(init=False)
    update: Executable = field(init=False)
    delete: Executable = field(init=False)
    delete_any: Executable = field(init=False)
    version: Executable = field(init=False)
    _queries: dict[tuple[Any, ...], Executable] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        table = self.table
        key = table.c.id == bindparam("key_id")
        guard = key & (table.c.version == bindparam("expected"))
        values: dict[str, Any] = {column: bindparam(f"p_{column}") for _, column, _ in self.fields}
        document = json_param("p_document", self.dialect)
        self.load = select(json_text(table.c.document), table.c.version).where(key)
        self.version = select(table.c.version).where(key)
        self.insert = insert(table).values(
            id=bindparam("key_id"), version=bindparam("new_version"), document=document, **values
        )
        self.update = (
            update(table)
            .where(guard)
            .values(version=bindparam("new_version"), document=document, **values)
        )
        self.delete = delete(table).where(guard)
        self.delete_any = delete(table).where(key)

    @classmethod
    def of(cls, view_type: type[View], dialect: str) -> ViewTable:
        """The table a view type's declared indexes call for (not created)."""
        name = table_name(view_type)
        fields = tuple(
            (field_name, column_name(field_name), index_kind(view_type, field_name))
            for field_name in dict.fromkeys(view_type.indexes)
            if field_name != "id"
        )
        table = Table(
            name,
            MetaData(),
            Column("id", _TEXT, nullable=False),
            Column("version", BigInteger, nullable=False),
            Column("document", JsonDocument, nullable=False),
            *(Column(column, _TYPES[kind]) for _, column, kind in fields),
            # named on PostgreSQL, where a key's index name is global to the schema (swap
            # renames it); SQLite would keep the copy's name in the renamed table's text
            PrimaryKeyConstraint("id", name=f"{name}_pk" if dialect == "postgresql" else None),
        )
        for _, column, _ in fields:
            indexed: ColumnElement[Any] = table.c[column]
            if dialect == "postgresql":  # matches both sort directions (see ViewQuery)
                indexed = indexed.asc().nulls_first()
            Index(index_name(name, column), indexed, table.c.id)
        return cls(view_type, table, fields, dialect)

    def parameters(self, write: ViewWrite) -> dict[str, Any]:
        """The statement parameters of one view write."""
        parameters: dict[str, Any] = {
            "key_id": write.view_id,
            "expected": write.expected_version,
            "new_version": write.new_version,
        }
        view = write.view
        if view is not None:
            parameters["p_document"] = write.document
            for field_name, column, kind in self.fields:
                parameters[f"p_{column}"] = normalized_value(view, field_name, kind)
        return parameters

    async def write(self, connection: AsyncConnection, write: ViewWrite) -> bool:
        """Apply one write; False when its version check failed (an insert's included:
        the caller catches the ``IntegrityError``)."""
        parameters = self.parameters(write)
        if write.kind == "insert":
            await connection.execute(self.insert, parameters)
            return True
        if write.kind == "update":
            result = await connection.execute(self.update, parameters)
            return result.rowcount == 1
        if write.expected_version == -1:
            await connection.execute(self.delete_any, parameters)
            return True
        return (await connection.execute(self.delete, parameters)).rowcount == 1

    def select(self, query: ViewQuery, *, count: bool = False) -> tuple[Executable, dict[str, Any]]:
        """The statement of a query (built once per shape) and its parameters."""
        parameters: dict[str, Any] = {}
        shape: list[Any] = [count]
        for number, condition in enumerate(query.conditions):
            value = condition.value
            if condition.operator == "in":
                values = typing.cast(tuple[object, ...], value)
                with_null = None in values
                parameters[f"c{number}"] = [item for item in values if item is not None]
                shape.append((condition.field, "in", with_null))
            elif value is None:  # only "eq" keeps a None (Range skips unbounded sides)
                shape.append((condition.field, "null", False))
            else:
                parameters[f"c{number}"] = value
                shape.append((condition.field, condition.operator, False))
        if not count:
            shape.append(query.order)
            shape.append((query.offset > 0, query.limit is not None))
            if query.offset > 0:
                parameters["offset_"] = query.offset
            if query.limit is not None:
                parameters["limit_"] = query.limit
        key = tuple(shape)
        statement = self._queries.get(key)
        if statement is None:
            if len(self._queries) >= _QUERY_CACHE:
                self._queries.clear()
            statement = self._queries[key] = self._build(query, count)
        return statement, parameters

    def _column(self, field_name: str) -> ColumnElement[Any]:
        if field_name == "id":
            return self.table.c.id
        return self.table.c[column_name(field_name)]

    def _build(self, query: ViewQuery, count: bool) -> Executable:
        table = self.table
        where: list[ColumnElement[bool]] = []
        for number, condition in enumerate(query.conditions):
            column = self._column(condition.field)
            parameter = f"c{number}"
            operator = condition.operator
            if operator == "in":
                found: ColumnElement[bool] = column.in_(bindparam(parameter, expanding=True))
                if None in condition.value:  # type: ignore[operator]
                    found = or_(found, column.is_(None))
                where.append(found)
            elif condition.value is None:
                where.append(column.is_(None))
            elif operator == "eq":
                where.append(column == bindparam(parameter))
            elif operator == "gt":
                where.append(column > bindparam(parameter))
            elif operator == "gte":
                where.append(column >= bindparam(parameter))
            elif operator == "lt":
                where.append(column < bindparam(parameter))
            else:
                where.append(column <= bindparam(parameter))
        if count:
            return select(func.count()).select_from(table).where(*where)
        order: list[ColumnElement[Any]] = []
        for field_name, descending in query.order:
            column = self._column(field_name)
            if field_name == "id":
                order.append(column.desc() if descending else column.asc())
            else:  # None sorts first ascending, last descending, as in memory
                order.append(
                    column.desc().nulls_last() if descending else column.asc().nulls_first()
                )
        statement = select(json_text(table.c.document), table.c.version).where(*where)
        statement = statement.order_by(*order)
        if query.offset > 0:
            statement = statement.offset(bindparam("offset_", type_=Integer))
        if query.limit is not None:
            statement = statement.limit(bindparam("limit_", type_=Integer))
        return statement


class SqlViewTables:
    """The view tables of one engine: created (or checked) once per view type.

    One belongs to one application's ``SqlAlchemyPersistence``; its units of work and
    projection store share it. Nothing is kept between applications.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name
        self._tables: dict[type[View], ViewTable] = {}
        self._lock = asyncio.Lock()

    @property
    def dialect(self) -> str:
        """The engine's dialect name."""
        return self._dialect

    def describe(self, view_type: type[View]) -> ViewTable:
        """The table a view type calls for, whether or not it exists."""
        return ViewTable.of(view_type, self._dialect)

    async def table(self, view_type: type[View]) -> ViewTable:
        """The table of ``view_type``, created first if it is missing.

        Raises ``ConfigurationError`` when the table exists with other columns than the
        view's declared indexes call for.
        """
        found = self._tables.get(view_type)
        if found is not None:
            return found
        async with self._lock:
            found = self._tables.get(view_type)
            if found is None:
                found = self.describe(view_type)
                await self._ensure(found)
                self._tables[view_type] = found
        return found

    def forget(self, *view_names: str) -> None:
        """Check the tables of these view names again on next use (dropped or swapped)."""
        for view_type in [t for t in self._tables if t.view_name in view_names]:
            del self._tables[view_type]

    async def stored_version(self, write: ViewWrite) -> int:
        """The stored version of a view, read outside any transaction (-1 if unknown)."""
        found = self._tables.get(write.view_type)
        if found is None:
            return -1
        try:
            async with self._engine.connect() as connection:
                version = await connection.scalar(found.version, {"key_id": write.view_id})
        except DBAPIError:
            return -1
        return 0 if version is None else int(version)

    async def _ensure(self, view_table: ViewTable) -> None:
        for attempt in range(2):
            try:
                async with ddl_transaction(self._engine) as connection:
                    await connection.run_sync(_create_or_check, view_table)
                return
            except DBAPIError as error:  # another process created it at the same time
                if attempt == 1:
                    raise PersistenceError(
                        f"cannot create the table of view {view_table.view_type.view_name!r}: "
                        f"{error}"
                    ) from error


def _create_or_check(connection: Connection, view_table: ViewTable) -> None:
    table = view_table.table
    inspector = inspect(connection)
    if not inspector.has_table(table.name):
        table.create(connection)
        return
    present = {column["name"] for column in inspector.get_columns(table.name)}
    wanted = {column.name for column in table.columns}
    if present != wanted:
        view_type = view_table.view_type
        raise ConfigurationError(
            f"the table {table.name} of view {view_type.__qualname__} has the columns "
            f"{', '.join(sorted(present))}, but its declared indexes call for "
            f"{', '.join(sorted(wanted))}: rebuild the projection that keeps it with "
            f"`facta projections rebuild NAME`, which creates the table afresh"
        )
    for index in table.indexes:
        index.create(connection, checkfirst=True)


def stored(row: Any) -> StoredView:
    """A loaded row (document text, version) as a ``StoredView``."""
    return StoredView(row[0], int(row[1]))
