"""Fixtures of the ``facta`` command's tests: a SQLite outbox in every state an operator meets.

Each state is made once per session through the test application, then each test gets a
copy of its file, so that tests stay independent and fast.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.cli_app import DATABASE_URL, TRACKER_DOWN, Ship, create_app
from facta import Application, OutboxRelay
from facta.persistence import DeliverySettings, Outbox, OutboxStats
from support.services import run_sync

APP = "cli.cli_app:create_app"


@dataclass(frozen=True)
class Database:
    """The test's database: its URL, and a way to read its outbox's counts."""

    url: str

    def stats(self) -> OutboxStats:
        return run_sync(_stats())


@dataclass(frozen=True)
class Templates:
    """Database files made once: ``empty`` has facta's tables, ``seeded`` the states."""

    empty: Path
    seeded: Path


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    folder = tmp_path_factory.mktemp("cli-databases")
    made = Templates(folder / "empty.db", folder / "seeded.db")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(TRACKER_DOWN, raising=False)
        for path, seed in [(made.empty, False), (made.seeded, True)]:
            patch.setenv(DATABASE_URL, f"sqlite:///{path}")
            run_sync(_create(seed))
    return made


@pytest.fixture
def database(templates: Templates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    """An empty SQLite database with facta's tables, named by the test app's variable."""
    path = tmp_path / "outbox.db"
    shutil.copyfile(templates.empty, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv(DATABASE_URL, url)
    monkeypatch.delenv(TRACKER_DOWN, raising=False)
    monkeypatch.delenv("FACTA_APP", raising=False)
    return Database(url)


@pytest.fixture
def seeded(templates: Templates, database: Database) -> Database:
    """Parcel p1 delivered; p2 and p3 dead-lettered for the tracker; p4 pending for it.

    The tracker is up (``CLI_APP_TRACKER_DOWN`` unset), so relaying delivers p4.
    """
    shutil.copyfile(templates.seeded, database.url.removeprefix("sqlite:///"))
    return database


async def _create(seed: bool) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from facta.persistence.sqlalchemy import create_schema

    app = create_app().build()
    try:
        await create_schema(app.get(AsyncEngine))
        if seed:
            await _seed(app)
    finally:
        await _dispose(app)


async def _seed(app: Application) -> None:
    relay = OutboxRelay(
        app.get(Outbox),  # type: ignore[type-abstract]
        app.mediator,
        app.get(DeliverySettings),
    )
    await app.mediator.send(Ship(parcel_id="p1"))
    os.environ[TRACKER_DOWN] = "1"
    try:
        await app.mediator.send(Ship(parcel_id="p2"))
        await app.mediator.send(Ship(parcel_id="p3"))
        await relay.drain()  # the second failure dead-letters both
        await app.mediator.send(Ship(parcel_id="p4"))  # failed once: pending
    finally:
        del os.environ[TRACKER_DOWN]


async def _stats() -> OutboxStats:
    app = create_app().build()
    try:
        return await app.get(Outbox).stats()  # type: ignore[type-abstract]
    finally:
        await _dispose(app)


async def _dispose(app: Application) -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    await app.get(AsyncEngine).dispose()
