"""Fixtures shared by facta's own tests.

``backend`` is parametrized over every persistence back-end, so contract tests written once
prove each guarantee on each of them. Later back-ends add themselves to ``BACKENDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import injector
import pytest

from facta import Application, ApplicationBuilder, InMemoryPersistence, InMemoryStore
from support.bank import HANDLERS, Journal


@dataclass
class Backend:
    """One persistence back-end under test, over one fresh database per test.

    ``persistence()`` gives a module for a new application on that same database, so
    several applications can stand for several processes sharing one database.
    """

    name: str
    persistence: Callable[[], injector.Module]


def _memory() -> Backend:
    store = InMemoryStore()
    return Backend("memory", lambda: InMemoryPersistence(store))


BACKENDS: dict[str, Callable[[], Backend]] = {"memory": _memory}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    """Each persistence back-end in turn, on a fresh database."""
    return BACKENDS[request.param]()


def bank_builder(backend: Backend, journal: Journal | None = None) -> ApplicationBuilder:
    """The banking test application on ``backend``, recording into ``journal``."""
    journal = journal if journal is not None else Journal()

    def bind_journal(binder: injector.Binder) -> None:
        binder.bind(Journal, to=journal)

    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS)
        .add_module(bind_journal)
        .use_persistence(backend.persistence())
    )


@pytest.fixture
def journal() -> Journal:
    """What the event handlers of ``bank`` saw."""
    return Journal()


@pytest.fixture
def bank(backend: Backend, journal: Journal) -> Application:
    """The banking application on each back-end."""
    return bank_builder(backend, journal).build()
