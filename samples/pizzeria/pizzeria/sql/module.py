"""Installing the SQL read models in an application: readers on the engine, writers in
the event handler's unit of work."""

from __future__ import annotations

import injector
from sqlalchemy.ext.asyncio import AsyncEngine

from facta import UnitOfWork, operation_scope
from pizzeria.application.read_models import (
    MenuReader,
    MenuReadModel,
    OrderReader,
    OrderReadModels,
)
from pizzeria.sql.read_models import SqlMenuReadModel, SqlOrderReadModels, in_unit_of_work

__all__ = ["SqlReadModels"]


class SqlReadModels(injector.Module):
    """Binds the SQL read models; install it with ``SqlAlchemyPersistence``.

    The readers the query handlers use are application-wide and read through the engine.
    The read models the projections keep are made for each operation, on its unit of
    work's connection, so their rows commit with the handler's receipt.
    """

    @injector.singleton
    @injector.provider
    def menu_reader(self, engine: AsyncEngine) -> MenuReader:
        """The menu, read through the engine."""
        return SqlMenuReadModel(engine.connect)

    @injector.singleton
    @injector.provider
    def order_reader(self, engine: AsyncEngine) -> OrderReader:
        """Orders, kitchen and customers, read through the engine."""
        return SqlOrderReadModels(engine.connect)

    @operation_scope
    @injector.provider
    def menu_read_model(self, uow: UnitOfWork) -> MenuReadModel:
        """The menu, in the operation's unit of work."""
        return SqlMenuReadModel(in_unit_of_work(uow))

    @operation_scope
    @injector.provider
    def order_read_models(self, uow: UnitOfWork) -> OrderReadModels:
        """Orders, kitchen and customers, in the operation's unit of work."""
        return SqlOrderReadModels(in_unit_of_work(uow))
