"""The test bank with its projections for the ``facta projections`` tests.

Its SQLite database is named by ``PROJECTIONS_APP_DATABASE_URL``.
"""

from __future__ import annotations

import os

from facta import ApplicationBuilder
from support.statements import statements_builder

DATABASE_URL = "PROJECTIONS_APP_DATABASE_URL"


def create_app() -> ApplicationBuilder:
    """The factory that ``--app cli.projections_app:create_app`` names."""
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence

    return statements_builder(SqlAlchemyPersistence(os.environ[DATABASE_URL]))
