"""The MongoDB back-end (``pip install facta[mongo]``), on PyMongo's asyncio API or motor.

Aggregates are stored as BSON documents of their pydantic state with their type, id and
version (``Decimal`` as Decimal128, ``UUID`` as standard binary, aware datetimes in UTC to
the millisecond: see ``codec``); events go to the outbox collection in the same
multi-document transaction; each handler's success is a delivery document, committed with
the handler's own writes. Transactions need a replica set (one node is enough).
"""

try:
    import pymongo  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("mongo", missing.name or "pymongo") from missing

from facta.persistence.mongo.codec import CODEC_OPTIONS, to_document, truncate_to_millisecond
from facta.persistence.mongo.driver import MongoClient
from facta.persistence.mongo.event_store import MongoEventStore
from facta.persistence.mongo.module import MongoPersistence, create_client, ensure_indexes
from facta.persistence.mongo.outbox import DECODING, MongoOutbox
from facta.persistence.mongo.projections import MongoProjectionStore
from facta.persistence.mongo.store import INDEXES, LOST_GUARANTEES, MongoStore
from facta.persistence.mongo.unit_of_work import MongoSession, MongoUnitOfWork
from facta.persistence.mongo.views import MongoViews

__all__ = [
    "CODEC_OPTIONS",
    "DECODING",
    "INDEXES",
    "LOST_GUARANTEES",
    "MongoClient",
    "MongoEventStore",
    "MongoOutbox",
    "MongoPersistence",
    "MongoProjectionStore",
    "MongoSession",
    "MongoStore",
    "MongoUnitOfWork",
    "MongoViews",
    "create_client",
    "ensure_indexes",
    "to_document",
    "truncate_to_millisecond",
]
