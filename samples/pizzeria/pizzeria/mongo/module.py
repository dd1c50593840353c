"""Installing the MongoDB read models in an application: readers outside any transaction,
writers in the event handler's unit of work."""

from __future__ import annotations

import injector

from facta import UnitOfWork, operation_scope
from facta.persistence.mongo import MongoStore
from pizzeria.application.read_models import (
    MenuReader,
    MenuReadModel,
    OrderReader,
    OrderReadModels,
)
from pizzeria.mongo.collections import PizzeriaCollections
from pizzeria.mongo.read_models import MongoMenuReadModel, MongoOrderReadModels, in_unit_of_work

__all__ = ["MongoReadModels"]


class MongoReadModels(injector.Module):
    """Binds the MongoDB read models; install it with ``MongoPersistence``.

    The readers the query handlers use are application-wide and read outside any
    transaction. The read models the projections keep are made for each operation, in its
    unit of work's transaction, so what they save commits with the handler's receipt.
    """

    @injector.singleton
    @injector.provider
    def collections(self, store: MongoStore) -> PizzeriaCollections:
        """The read models' collections in facta's database."""
        return PizzeriaCollections(store)

    @injector.singleton
    @injector.provider
    def menu_reader(self, collections: PizzeriaCollections) -> MenuReader:
        """The menu, read outside any transaction."""
        return MongoMenuReadModel(collections)

    @injector.singleton
    @injector.provider
    def order_reader(self, collections: PizzeriaCollections) -> OrderReader:
        """Orders, kitchen and customers, read outside any transaction."""
        return MongoOrderReadModels(collections)

    @operation_scope
    @injector.provider
    def menu_read_model(self, collections: PizzeriaCollections, uow: UnitOfWork) -> MenuReadModel:
        """The menu, in the operation's unit of work."""
        return MongoMenuReadModel(collections, in_unit_of_work(uow))

    @operation_scope
    @injector.provider
    def order_read_models(
        self, collections: PizzeriaCollections, uow: UnitOfWork
    ) -> OrderReadModels:
        """Orders, kitchen and customers, in the operation's unit of work."""
        return MongoOrderReadModels(collections, in_unit_of_work(uow))
