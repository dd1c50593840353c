"""Testing helpers: given/when/then for aggregates and applications, and pytest fixtures.

The pytest plugin (``facta.testing.plugin``) is registered when facta is installed and
provides the ``facta_builder``, ``facta_app`` and ``facta_scenario`` fixtures.
"""

from facta.testing.scenario import (
    AggregateOutcome,
    AggregateScenario,
    ApplicationOutcome,
    ApplicationScenario,
    ExpectedEvent,
    assert_events,
    given,
)

__all__ = [
    "AggregateOutcome",
    "AggregateScenario",
    "ApplicationOutcome",
    "ApplicationScenario",
    "ExpectedEvent",
    "assert_events",
    "given",
]
