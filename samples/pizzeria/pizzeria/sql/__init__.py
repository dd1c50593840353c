"""The pizzeria on a SQL database (SQLite or PostgreSQL): read-model tables and stores.

Needs facta's SQLAlchemy back-end (``pip install facta[sqlalchemy]``); ``pizzeria.app``
imports this package only when it is given a database URL, so the in-memory pizzeria
works without it.
"""

import facta.persistence.sqlalchemy  # noqa: F401  (first: without the extra it names it)
from pizzeria.sql.module import SqlReadModels
from pizzeria.sql.read_models import SqlMenuReadModel, SqlOrderReadModels
from pizzeria.sql.tables import create_tables, metadata

__all__ = [
    "SqlMenuReadModel",
    "SqlOrderReadModels",
    "SqlReadModels",
    "create_tables",
    "metadata",
]
