"""The pizzeria's metrics after its scripted day, recorded by an in-memory SDK: commands
and handler runs by type and outcome with their durations, the outbox's pending events,
lag and dead letters, and the CloudEvents published and refused."""

from __future__ import annotations

import io
from pathlib import Path

from facta.integration.publishers import InMemoryPublisher
from pizzeria.app import close_database, pizzeria_builder, prepare_database
from pizzeria.day import play_day
from support.telemetry import Recorder


async def test_after_the_scripted_day_the_metrics_show_what_the_pizzeria_did(
    tmp_path: Path,
) -> None:
    recorder = Recorder("pizzeria")
    telemetry = recorder.instrumentation("pizzeria")
    publisher = InMemoryPublisher()
    publisher.fail_next(1, refuse=True)  # the first CloudEvent is refused: a dead letter
    publisher.fail_next(2)  # the next two fail: pending, for a relay that is not running
    app = (
        pizzeria_builder(f"sqlite:///{tmp_path / 'day.db'}", instrumentation=telemetry)
        .scan("pizzeria.integration")
        .publish_cloudevents(publisher)
        .build()
    )
    await prepare_database(app)
    try:
        async with app:
            await play_day(app, io.StringIO())
            assert telemetry.monitor is not None
            reading = await telemetry.monitor.refresh()
    finally:
        await close_database(app)

    value = recorder.value
    assert (reading.pending, reading.dead_letters) == (2, 1)
    assert value("facta.outbox.pending", facta__application="pizzeria") == 2
    assert value("facta.outbox.dead_letters") == 1
    assert value("facta.outbox.lag") > 0
    command = "facta.message.duration"
    assert value(command, facta__message__type="PlaceOrder", facta__outcome="ok") == 4
    assert value(command, facta__message__type="PlaceOrder", facta__outcome="refused") == 1
    assert value(command, facta__message__type="StartCooking", facta__outcome="refused") == 1
    assert value(command, facta__message__type="GetMenu", facta__message__kind="query") == 1
    projection = value(  # the asynchronous projection is a handler of the outbox
        "facta.handler.duration",
        facta__handler="KitchenBoardProjection",
        facta__message__type="OrderPlaced",
        facta__outcome="ok",
    )
    assert projection == 4
    durations = [
        point.sum for point in recorder.points(command) if point.attributes["facta.outcome"] == "ok"
    ]
    assert durations and all(duration > 0 for duration in durations)
    published = "facta.cloudevents.published"
    assert value(published, facta__outcome="refused") == 1
    assert value(published, facta__outcome="error") == 2
    assert value(published, facta__outcome="ok") == len(publisher.published)
