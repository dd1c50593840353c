"""An application with an event-sourced ``Ledger`` for the ``facta events`` tests.

Its SQLite database is named by ``EVENTS_APP_DATABASE_URL``.
"""

from __future__ import annotations

import os

from facta import ApplicationBuilder
from support.ledger import LEDGER_TYPES

DATABASE_URL = "EVENTS_APP_DATABASE_URL"


def create_app() -> ApplicationBuilder:
    """The factory that ``--app cli.events_app:create_app`` names."""
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence

    return (
        ApplicationBuilder()
        .add_handler(*LEDGER_TYPES)
        .use_persistence(SqlAlchemyPersistence(os.environ[DATABASE_URL]))
    )
