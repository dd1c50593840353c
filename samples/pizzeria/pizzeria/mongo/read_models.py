"""The read models in MongoDB collections, in a unit of work's transaction or outside any.

``MongoMenuReadModel`` and ``MongoOrderReadModels`` pass each call the session their
``SessionOf`` gives: the event handler's unit of work's (``in_unit_of_work``), so that what
a projection reads and saves is in the transaction that commits the handler's receipt, or
none (``outside_transaction``) for the queries, which change nothing.

Saving a view is one update that keeps a stored document of the same or a later version,
so a late or repeated save never takes a view back in time. Every value written goes
through ``$literal`` and every filter value is checked to be a plain value, so no text a
customer typed is ever read as an operator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bson import ObjectId

from facta import ConfigurationError, UnitOfWork
from facta.persistence.mongo import MongoSession, MongoUnitOfWork, to_document
from facta.persistence.mongo.codec import Document
from facta.persistence.mongo.driver import Collection
from facta.persistence.mongo.filters import checked_str
from pizzeria.application.views import CustomerSummary, KitchenBoard, MenuItem, OrderSummary
from pizzeria.domain.kitchen import DEFAULT_CAPACITY, KITCHEN_ID
from pizzeria.domain.order import OrderStatus
from pizzeria.mongo.collections import PizzeriaCollections

__all__ = [
    "MongoMenuReadModel",
    "MongoOrderReadModels",
    "SessionOf",
    "in_unit_of_work",
    "outside_transaction",
]

SessionOf = Callable[[], Awaitable[MongoSession | None]]
"""Where a read model's calls run: the session of a transaction, or None for none."""

_NEWEST_FIRST = [("placed_at", -1), ("arrival", -1)]
_OLDEST_FIRST = [("placed_at", 1), ("arrival", 1)]
_NO_ARRIVAL = {"arrival": 0}


async def outside_transaction() -> MongoSession | None:
    """No session: each call on its own (the readers of the query side)."""
    return None


def in_unit_of_work(uow: UnitOfWork) -> SessionOf:
    """The session of ``uow``'s transaction, which must be a ``MongoUnitOfWork``.

    What is written in it commits when the unit of work commits (for an event handler:
    with its receipt), and is rolled back when the handler fails.
    """
    if not isinstance(uow, MongoUnitOfWork):
        raise ConfigurationError(
            f"the MongoDB read models write in the unit of work's transaction, and this "
            f"application's unit of work is a {type(uow).__name__}: install them with "
            f"MongoPersistence, or use InMemoryReadModels"
        )
    return uow.session


def _unless_newer(document: Document, *, keep: Document | None = None) -> list[Document]:
    """An update pipeline that puts ``document`` in place of the stored one, unless that
    one is of the same or a later version; with ``upsert=True`` it inserts it if there is
    none. ``keep`` names fields the stored document keeps (with a value for a new one)."""
    replacement: Any = {"$literal": document}
    if keep:
        replacement = {
            "$mergeObjects": [
                replacement,
                {name: {"$ifNull": [f"${name}", value]} for name, value in keep.items()},
            ]
        }
    older = {"$lt": [{"$ifNull": ["$version", -1]}, document["version"]]}
    return [{"$replaceWith": {"$cond": [older, replacement, "$$ROOT"]}}]


async def _save_unless_newer(
    collection: Collection,
    key: str,
    document: Document,
    session: MongoSession | None,
    *,
    keep: Document | None = None,
) -> None:
    await collection.update_one(
        {"_id": key},
        _unless_newer({**document, "_id": key}, keep=keep),
        upsert=True,
        session=session,
    )


class MongoMenuReadModel:
    """``MenuReader`` and ``MenuReadModel`` in ``pizzeria_menu``."""

    def __init__(
        self, collections: PizzeriaCollections, session: SessionOf = outside_transaction
    ) -> None:
        self._menu = collections.menu
        self._session = session

    async def pizza(self, name: str) -> MenuItem | None:
        document = await self._menu.find_one(
            {"_id": checked_str(name, "a pizza's name")}, session=await self._session()
        )
        return None if document is None else _menu_item(document)

    async def save_pizza(self, item: MenuItem) -> None:
        document = to_document(item)
        key = document.pop("name")
        await _save_unless_newer(self._menu, key, document, await self._session())

    async def menu(self) -> list[MenuItem]:
        documents = await self._menu.find(
            {"retired": False}, sort=[("_id", 1)], session=await self._session()
        ).to_list(None)
        return [_menu_item(document) for document in documents]


def _menu_item(document: Document) -> MenuItem:
    document["name"] = document.pop("_id")
    return MenuItem.model_validate(document)


class MongoOrderReadModels:
    """``OrderReader`` and ``OrderReadModels`` in ``pizzeria_orders``, ``pizzeria_kitchen``
    and ``pizzeria_customers``."""

    def __init__(
        self, collections: PizzeriaCollections, session: SessionOf = outside_transaction
    ) -> None:
        self._orders = collections.orders
        self._kitchen = collections.kitchen
        self._customers = collections.customers
        self._session = session

    async def order(self, order_id: str) -> OrderSummary | None:
        document = await self._orders.find_one(
            {"_id": checked_str(order_id, "an order id")},
            _NO_ARRIVAL,
            session=await self._session(),
        )
        return None if document is None else _summary(document)

    async def save_order(self, summary: OrderSummary) -> None:
        document = to_document(summary)
        key = document.pop("order_id")
        await _save_unless_newer(
            self._orders, key, document, await self._session(), keep={"arrival": ObjectId()}
        )

    async def orders(
        self,
        *,
        status: OrderStatus | None = None,
        phone: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[list[OrderSummary], int]:
        condition: Document = {}
        if status is not None:
            condition["status"] = OrderStatus(status).value
        if phone is not None:
            condition["customer_phone"] = checked_str(phone, "a phone number")
        session = await self._session()
        total = await self._orders.count_documents(condition, session=session)
        if limit <= 0 or offset >= total:  # MongoDB reads a limit of 0 as no limit
            return [], total
        documents = await self._orders.find(
            condition,
            _NO_ARRIVAL,
            sort=_NEWEST_FIRST,
            skip=max(offset, 0),
            limit=limit,
            session=session,
        ).to_list(limit)
        return [_summary(document) for document in documents], total

    async def queue(self) -> list[OrderSummary]:
        documents = await self._orders.find(
            {"status": OrderStatus.CONFIRMED.value},
            _NO_ARRIVAL,
            sort=_OLDEST_FIRST,
            session=await self._session(),
        ).to_list(None)
        return [_summary(document) for document in documents]

    async def kitchen(self) -> KitchenBoard:
        document = await self._kitchen.find_one(
            {"_id": KITCHEN_ID}, {"_id": 0}, session=await self._session()
        )
        if document is None:
            return KitchenBoard(capacity=DEFAULT_CAPACITY)
        return KitchenBoard.model_validate(document)

    async def save_kitchen(self, board: KitchenBoard) -> None:
        await _save_unless_newer(
            self._kitchen, KITCHEN_ID, to_document(board), await self._session()
        )

    async def customer(self, phone: str) -> CustomerSummary | None:
        document = await self._customers.find_one(
            {"_id": checked_str(phone, "a phone number")}, session=await self._session()
        )
        if document is None:
            return None
        document["phone"] = document.pop("_id")
        return CustomerSummary.model_validate(document)

    async def save_customer(self, customer: CustomerSummary) -> None:
        document = to_document(customer)
        document["_id"] = document.pop("phone")
        await self._customers.replace_one(
            {"_id": document["_id"]}, document, upsert=True, session=await self._session()
        )


def _summary(document: Document) -> OrderSummary:
    document["order_id"] = document.pop("_id")
    return OrderSummary.model_validate(document)
