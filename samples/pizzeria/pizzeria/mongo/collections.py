"""The read models' collections (``pizzeria_*``), beside facta's own, and their indexes.

```
pizzeria_menu       {_id: name, base_price, toppings, prices, retired, version}
pizzeria_orders     {_id: order id, status, customer_phone, customer_name, address, lines,
                     total, placed_at, updated_at, history, driver, cancel_reason, version,
                     arrival}
pizzeria_kitchen    {_id: "kitchen", capacity, cooking, version}
pizzeria_customers  {_id: phone, name, email, address, registered_at}
```

Money is Decimal128 (read back as ``Decimal``, its places kept: ``18.60`` stays
``18.60``); times are BSON dates in UTC, to the millisecond, which is the precision of the
events the views are made of. ``arrival`` is an ``ObjectId`` given to an order's summary
when it is first saved: it breaks ties between orders placed in the same millisecond, so
the lists keep a stable order (the order of arrival, within one process).

The indexes serve the queries the read side asks: orders newest first (all, of one
status, of one phone) and the kitchen's queue (confirmed, oldest first: the status index
read backwards). Each one ends with ``arrival``, so MongoDB never sorts in memory.
"""

from __future__ import annotations

from typing import Final

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure

from facta.persistence.mongo import MongoStore
from facta.persistence.mongo.driver import Collection

__all__ = [
    "COLLECTIONS",
    "CUSTOMERS",
    "INDEXES",
    "KITCHEN",
    "MENU",
    "ORDERS",
    "PizzeriaCollections",
    "create_collections",
]

MENU: Final = "pizzeria_menu"
ORDERS: Final = "pizzeria_orders"
KITCHEN: Final = "pizzeria_kitchen"
CUSTOMERS: Final = "pizzeria_customers"
COLLECTIONS: Final = (MENU, ORDERS, KITCHEN, CUSTOMERS)
"""The read models' collections."""

_NEWEST_FIRST = [("placed_at", DESCENDING), ("arrival", DESCENDING)]

INDEXES: Final = {
    ORDERS: [
        IndexModel(_NEWEST_FIRST, name="pizzeria_orders_placed"),
        IndexModel([("status", ASCENDING), *_NEWEST_FIRST], name="pizzeria_orders_status"),
        IndexModel([("customer_phone", ASCENDING), *_NEWEST_FIRST], name="pizzeria_orders_phone"),
    ],
}
"""The read models' indexes, by collection (the others are read by ``_id`` alone)."""

_NAMESPACE_EXISTS = 48


class PizzeriaCollections:
    """The read models' collections in facta's database, read and written with facta's
    codec options (Decimal128 as ``Decimal``, aware UTC datetimes)."""

    def __init__(self, store: MongoStore) -> None:
        self.menu: Collection = store.collection(MENU)
        self.orders: Collection = store.collection(ORDERS)
        self.kitchen: Collection = store.collection(KITCHEN)
        self.customers: Collection = store.collection(CUSTOMERS)


async def create_collections(store: MongoStore) -> None:
    """Check the server, create facta's collections and indexes and the pizzeria's where
    they are missing; idempotent.

    The collections are created here rather than by a first write: a projection writes in
    a transaction, and two of them creating one collection at once would conflict.
    """
    await store.ready()
    database = store.client.get_database(store.database_name)
    for name in COLLECTIONS:
        try:
            await database.command("create", name)
        except OperationFailure as error:
            if error.code != _NAMESPACE_EXISTS:
                raise
        indexes = INDEXES.get(name)
        if indexes:
            await store.collection(name).create_indexes(indexes)
