"""The testing helpers read what was committed from an ``InMemoryStore``.

So their tests run the banking application on the in-memory back-end only, whatever
back-ends the rest of the suite is parametrized over.
"""

from __future__ import annotations

import pytest

from conftest import Backend
from facta import InMemoryPersistence, InMemoryStore


@pytest.fixture
def backend() -> Backend:
    """The in-memory back-end, on a fresh store."""
    store = InMemoryStore()
    return Backend("memory", lambda: InMemoryPersistence(store))
