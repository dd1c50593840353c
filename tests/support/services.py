"""Real services for the tests: found on 127.0.0.1, or skipped with a message naming them.

Under ``CI=true`` a missing service fails the test instead: CI must prove every back-end.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

T = TypeVar("T")

POSTGRES_URL = os.environ.get(
    "FACTA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def run_sync(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to completion on a loop of its own, even from inside a running one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def unavailable(service: str, reason: object) -> None:
    """Skip (or, under CI=true, fail) because ``service`` cannot be reached."""
    message = f"{service} is not reachable ({reason}); start it (see ../shared/services.md)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


async def _admin(statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for this test session; dropped afterwards."""
    name = f"facta_test_{uuid.uuid4().hex[:12]}"
    try:
        run_sync(_admin(f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError) as error:
        unavailable("PostgreSQL at 127.0.0.1:5432", error)
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        run_sync(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
