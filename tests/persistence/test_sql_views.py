"""What only the SQL back-ends have for views: typed tables, checked against the view."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import inspect

from conftest import Backend, bank_builder
from facta import Application, ConfigurationError, UnitOfWork
from facta.application.ports.projection_store import ProjectionStore
from facta.application.views import View
from facta.persistence.sqlalchemy import ddl


class Before(View):
    view_name = "contract_changing"
    indexes = ("status",)

    status: str = ""
    total: int = 0


class After(View):
    view_name = "contract_changing"
    indexes = ("status", "total")

    status: str = ""
    total: int = 0


async def test_a_view_table_has_a_typed_indexed_column_per_declared_index(sql: Backend) -> None:
    app = bank_builder(sql).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(After).put(After(id="a", status="new", total=3))
        await uow.commit()

    assert sql.engine is not None
    async with sql.engine.connect() as connection:
        columns, indexes = await connection.run_sync(
            lambda sync: (
                {c["name"] for c in inspect(sync).get_columns("facta_view_contract_changing")},
                {i["name"] for i in inspect(sync).get_indexes("facta_view_contract_changing")},
            )
        )
    assert columns == {"id", "version", "document", "status", "total"}
    assert indexes == {"facta_view_contract_changing_status", "facta_view_contract_changing_total"}


async def test_a_table_whose_columns_differ_from_the_declared_indexes_asks_for_a_rebuild(
    sql: Backend,
) -> None:
    app = bank_builder(sql).build()
    async with app.operation():
        await app.get(UnitOfWork).views(Before).get("a")
    later = bank_builder(sql).build()  # the next version of the service

    async with later.operation():
        with pytest.raises(ConfigurationError, match="facta projections rebuild"):
            await later.get(UnitOfWork).views(After).find({"total": 1})


def test_the_ddl_creates_the_projection_tables_and_the_index_of_unapplied_events() -> None:
    text = ddl("postgresql")

    assert "CREATE TABLE facta_projections" in text
    assert "CREATE TABLE facta_prunes" in text
    assert "CREATE INDEX facta_outbox_aggregate" in text


async def test_applications_creating_one_view_table_at_once_all_get_it(sql: Backend) -> None:
    apps = [bank_builder(sql).build() for _ in range(4)]

    async def first_use(app: Application) -> int:
        async with app.operation():
            return await app.get(UnitOfWork).views(After).count()

    assert await asyncio.gather(*(first_use(app) for app in apps)) == [0, 0, 0, 0]


class AfterCopy(After):
    view_name = "contract_changing_rebuild"


async def test_a_swapped_in_table_carries_the_live_tables_index_and_key_names(
    sql: Backend,
) -> None:
    app = bank_builder(sql).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(AfterCopy).put(AfterCopy(id="a", status="new", total=3))
        await uow.commit()

    await app.get(ProjectionStore).swap_views(After, AfterCopy)  # type: ignore[type-abstract]

    assert sql.engine is not None
    async with sql.engine.connect() as connection:
        tables, indexes, key = await connection.run_sync(
            lambda sync: (
                set(inspect(sync).get_table_names()),
                {i["name"] for i in inspect(sync).get_indexes("facta_view_contract_changing")},
                inspect(sync).get_pk_constraint("facta_view_contract_changing")["name"],
            )
        )
    assert "facta_view_contract_changing_rebuild" not in tables
    assert indexes == {"facta_view_contract_changing_status", "facta_view_contract_changing_total"}
    assert key in (None, "facta_view_contract_changing_pk")  # SQLite keeps no key name
