"""The SQLAlchemy back-end (``pip install facta[sqlalchemy]``): SQLite and PostgreSQL.

Aggregates are stored as JSON documents with their type, id and version (event-sourced
ones as their streams of events); events go to an outbox table in the same transaction;
each handler's success is a row in the deliveries table, committed with the handler's own
writes.
"""

try:
    import greenlet  # noqa: F401  (SQLAlchemy's asyncio support needs it)
    import sqlalchemy  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("sqlalchemy", missing.name or "sqlalchemy") from missing

from facta.persistence.sqlalchemy.event_store import SqlAlchemyEventStore
from facta.persistence.sqlalchemy.module import SqlAlchemyPersistence, create_engine
from facta.persistence.sqlalchemy.outbox import DECODING, SqlAlchemyOutbox
from facta.persistence.sqlalchemy.projections import SqlAlchemyProjectionStore
from facta.persistence.sqlalchemy.schema import UtcDateTime, create_schema, ddl, metadata
from facta.persistence.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork
from facta.persistence.sqlalchemy.views import SqlViewTables

__all__ = [
    "DECODING",
    "SqlAlchemyEventStore",
    "SqlAlchemyOutbox",
    "SqlAlchemyPersistence",
    "SqlAlchemyProjectionStore",
    "SqlAlchemyUnitOfWork",
    "SqlViewTables",
    "UtcDateTime",
    "create_engine",
    "create_schema",
    "ddl",
    "metadata",
]
