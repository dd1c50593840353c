"""The pytest plugin's fixtures as they come, before a user overrides ``facta_builder``."""

from __future__ import annotations

import pytest

from facta import (
    Application,
    ApplicationBuilder,
    Command,
    HandlerNotFound,
    InMemoryStore,
)
from facta.testing import ApplicationScenario


class Anything(Command[None]):
    pass


def test_the_default_builder_is_an_empty_application_builder(
    facta_builder: ApplicationBuilder,
) -> None:
    assert isinstance(facta_builder, ApplicationBuilder)


def test_the_default_application_has_no_handlers(facta_app: Application) -> None:
    assert facta_app.registry.request_types == {}
    assert facta_app.registry.event_types == {}


async def test_the_default_application_refuses_commands_it_has_no_handler_for(
    facta_app: Application,
) -> None:
    with pytest.raises(HandlerNotFound):
        await facta_app.mediator.send(Anything())


def test_the_default_application_runs_on_in_memory_persistence(facta_app: Application) -> None:
    assert facta_app.get(InMemoryStore).events == ()


def test_the_default_scenario_wraps_the_default_application(
    facta_scenario: ApplicationScenario, facta_app: Application
) -> None:
    assert facta_scenario.app is facta_app
