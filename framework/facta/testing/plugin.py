"""facta's pytest plugin: an in-memory application per test, and a scenario runner.

Override ``facta_builder`` in your ``conftest.py`` to describe your application::

    @pytest.fixture
    def facta_builder() -> ApplicationBuilder:
        return ApplicationBuilder().scan("pizzeria")

Then ask for ``facta_app`` (the built application) or ``facta_scenario`` (given/when/then
through its mediator). Each test gets a new application: nothing is shared between tests.
"""

from __future__ import annotations

import pytest

from facta.hosting import Application, ApplicationBuilder
from facta.testing.scenario import ApplicationScenario


@pytest.fixture
def facta_builder() -> ApplicationBuilder:
    """The builder of the application under test; override it to scan your packages."""
    return ApplicationBuilder()


@pytest.fixture
def facta_app(facta_builder: ApplicationBuilder) -> Application:
    """A new application built from ``facta_builder``, on in-memory persistence by default."""
    return facta_builder.build()


@pytest.fixture
def facta_scenario(facta_app: Application) -> ApplicationScenario:
    """Given/when/then through ``facta_app``'s mediator."""
    return ApplicationScenario(facta_app)
