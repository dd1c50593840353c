"""Correlation, causation and the event-storm stop, through the unit of work."""

from __future__ import annotations

import logging

import pytest

from conftest import Backend
from facta import (
    AggregateRoot,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEvent,
    DomainEventHandler,
    EventStormError,
    OperationContext,
    UnitOfWork,
)


class Pinged(DomainEvent):
    hop: int


class Ponged(DomainEvent):
    hop: int


class Echo(AggregateRoot):
    hops: int = 0

    def ping(self, hop: int) -> None:
        self.hops = hop
        self.record(Pinged(hop=hop))

    def pong(self, hop: int) -> None:
        self.hops = hop
        self.record(Ponged(hop=hop))


class StartEcho(Command[None]):
    echo_id: str


class StartEchoHandler(CommandHandler[StartEcho, None]):
    def __init__(self, uow: UnitOfWork, context: OperationContext) -> None:
        self.echoes = uow.repository(Echo)
        self.context = context

    async def handle(self, command: StartEcho) -> None:
        echo = Echo(id=command.echo_id)
        echo.ping(1)
        self.echoes.add(echo)


class AnswerPing(DomainEventHandler[Pinged]):
    """Answers every ping with a pong: with AnswerPong, an endless chain."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.echoes = uow.repository(Echo)

    async def handle(self, event: Pinged) -> None:
        (await self.echoes.get(event.aggregate_id)).pong(event.hop + 1)


class AnswerPong(DomainEventHandler[Ponged]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.echoes = uow.repository(Echo)

    async def handle(self, event: Ponged) -> None:
        (await self.echoes.get(event.aggregate_id)).ping(event.hop + 1)


def echo_app(backend: Backend, depth: int) -> ApplicationBuilder:
    return (
        ApplicationBuilder()
        .add_handler(StartEchoHandler, AnswerPing, AnswerPong)
        .use_persistence(backend.persistence())
        .max_event_depth(depth)
    )


async def test_an_endless_event_chain_is_stopped_at_the_configured_depth(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    app = echo_app(backend, depth=5).build()

    with caplog.at_level(logging.ERROR, logger="facta.mediator"):
        await app.mediator.send(StartEcho(echo_id="e"))

    storms = [r.exc_info[1] for r in caplog.records if r.exc_info and r.exc_info[1]]
    assert len(storms) == 1
    storm = storms[0]
    assert isinstance(storm, EventStormError)
    assert storm.chain == ("StartEcho", "Pinged", "Ponged", "Pinged", "Ponged", "Pinged", "Ponged")
    assert "StartEcho -> Pinged -> Ponged" in str(storm)
    async with app.operation():
        echo = await app.get(UnitOfWork).repository(Echo).get("e")
    assert echo.hops == 5  # the refused step committed nothing


async def test_events_carry_the_correlation_of_the_command_and_the_id_of_their_cause(
    backend: Backend,
) -> None:
    app = (
        ApplicationBuilder()
        .add_handler(StartEchoHandler, AnswerPing)
        .use_persistence(backend.persistence())
        .build()
    )
    events: list[DomainEvent] = []

    class Recorder(DomainEventHandler[DomainEvent]):
        async def handle(self, event: DomainEvent) -> None:
            events.append(event)

    app.registry.add(Recorder)
    await app.mediator.send(StartEcho(echo_id="e"))

    # dispatch is depth first: the pong committed by the ping's handler is seen first
    ponged, pinged = events
    assert isinstance(pinged, Pinged) and isinstance(ponged, Ponged)
    assert pinged.correlation_id is not None
    assert ponged.correlation_id == pinged.correlation_id
    assert ponged.causation_id == pinged.event_id
    assert pinged.causation_id not in (None, pinged.event_id)
