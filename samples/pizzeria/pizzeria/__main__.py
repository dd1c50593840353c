"""``python -m pizzeria``: a scripted day at Mario's Pizzeria, traced on stdout.

It runs on a new SQLite file in a temporary folder unless told otherwise::

    python -m pizzeria                                   # a new SQLite file, removed after
    PIZZERIA_DATABASE_URL=postgresql://... python -m pizzeria   # that (empty) database
    python -m pizzeria --database-url sqlite:///day.db   # the same, from a flag
    python -m pizzeria --in-memory                       # no database at all
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from pizzeria.day import run_day
from pizzeria.settings import DATABASE_URL_VARIABLE, PizzeriaSettings

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the scripted day and return its exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m pizzeria",
        description="A scripted day at Mario's Pizzeria, every command and event traced.",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--database-url",
        metavar="URL",
        help=(
            f"an empty database to play the day on (sqlite:///file.db, postgresql://...); "
            f"default: ${DATABASE_URL_VARIABLE}, else a new SQLite file in a temporary folder"
        ),
    )
    where.add_argument("--in-memory", action="store_true", help="play the day without a database")
    arguments = parser.parse_args(argv)
    database_url = arguments.database_url or PizzeriaSettings.from_environment().database_url
    return asyncio.run(run_day(database_url=database_url, in_memory=arguments.in_memory))


if __name__ == "__main__":
    raise SystemExit(main())
