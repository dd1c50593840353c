"""The pizzeria on MongoDB: read-model collections and their stores.

Needs facta's MongoDB back-end (``pip install facta[mongo]``, or ``pizzeria[mongo]``);
``pizzeria.app`` imports this package only when it is given a ``mongodb://`` URL, so the
in-memory and SQL pizzerias work without PyMongo.
"""

import facta.persistence.mongo  # noqa: F401  (first: without the extra it names it)
from pizzeria.mongo.collections import (
    COLLECTIONS,
    CUSTOMERS,
    INDEXES,
    KITCHEN,
    MENU,
    ORDERS,
    PizzeriaCollections,
    create_collections,
)
from pizzeria.mongo.module import MongoReadModels
from pizzeria.mongo.read_models import (
    MongoMenuReadModel,
    MongoOrderReadModels,
    SessionOf,
    in_unit_of_work,
)

__all__ = [
    "COLLECTIONS",
    "CUSTOMERS",
    "INDEXES",
    "KITCHEN",
    "MENU",
    "ORDERS",
    "MongoMenuReadModel",
    "MongoOrderReadModels",
    "MongoReadModels",
    "PizzeriaCollections",
    "SessionOf",
    "create_collections",
    "in_unit_of_work",
]
