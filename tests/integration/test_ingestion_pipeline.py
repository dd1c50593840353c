"""Integration events take the mediator's one dispatch path (issue 16, defect 4): the
behaviors registered for their kind see them, and the transaction behavior commits the
handler's writes with its inbox receipt, or nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from conftest import Backend
from facta import (
    Application,
    ApplicationBuilder,
    EventHandlingError,
    MessageKind,
    NextStep,
    OperationContext,
    PipelineBehavior,
)
from facta.application.handlers import handler_name
from facta.integration.ingestion import inbox_key
from integration.test_ingestion import cloudevent, points
from support.shop import LOYALTY, AwardPoints, OrderPlacedV2


@dataclass
class Recorder(PipelineBehavior):
    """Records each message it wraps, with its context; refuses to go on if told."""

    seen: list[tuple[object, OperationContext]] = field(default_factory=list)
    refuse: bool = False

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        self.seen.append((message, context))
        if self.refuse:
            raise RuntimeError("the behavior stopped the message")
        return await call_next()


def loyalty(
    backend: Backend | None, behavior: PipelineBehavior, *kinds: MessageKind
) -> Application:
    """The loyalty side, with ``behavior`` for ``kinds``, on ``backend`` (or in memory)."""
    builder = ApplicationBuilder().add_handler(*LOYALTY).use_behavior(behavior, on=kinds)
    if backend is not None:
        builder.use_persistence(backend.persistence())
    return builder.build()


async def test_a_behavior_for_every_message_kind_sees_an_ingested_event(backend: Backend) -> None:
    recorder = Recorder()
    app = loyalty(backend, recorder, *MessageKind)

    await app.ingestor.ingest(cloudevent(event_id="evt-1"))

    [(message, context)] = recorder.seen
    assert isinstance(message, OrderPlacedV2)
    assert context.handler == handler_name(AwardPoints)
    assert context.message_id == inbox_key("/shop/orders", "evt-1")
    assert context.chain == (OrderPlacedV2.cloudevent_type,)


async def test_a_behavior_for_integration_events_only_sees_them_and_not_commands() -> None:
    recorder = Recorder()
    app = loyalty(None, recorder, MessageKind.INTEGRATION_EVENT)

    await app.ingestor.ingest(cloudevent())

    assert [type(message) for message, _ in recorder.seen] == [OrderPlacedV2]


async def test_a_behavior_for_commands_does_not_see_integration_events() -> None:
    recorder = Recorder()
    app = loyalty(None, recorder, MessageKind.COMMAND)

    await app.ingestor.ingest(cloudevent())

    assert recorder.seen == []


async def test_the_transaction_behavior_commits_the_writes_with_the_inbox_receipt(
    backend: Backend,
) -> None:
    app = loyalty(backend, Recorder(), MessageKind.INTEGRATION_EVENT)

    await app.ingestor.ingest(cloudevent(event_id="evt-7"))

    account = await points(app)
    assert account is not None and account.orders == ["o-1"]
    assert await app.outbox.is_delivered(
        inbox_key("/shop/orders", "evt-7"), handler_name(AwardPoints)
    )


async def test_a_behavior_that_stops_the_event_leaves_neither_writes_nor_receipt(
    backend: Backend,
) -> None:
    recorder = Recorder(refuse=True)
    app = loyalty(backend, recorder, MessageKind.INTEGRATION_EVENT)

    with pytest.raises(EventHandlingError):
        await app.ingestor.ingest(cloudevent(event_id="evt-2"))

    assert await points(app) is None
    assert not await app.outbox.is_delivered(
        inbox_key("/shop/orders", "evt-2"), handler_name(AwardPoints)
    )
    recorder.refuse = False
    result = await app.ingestor.ingest(cloudevent(event_id="evt-2"))  # the redelivery
    assert result.handled == (handler_name(AwardPoints),)
    account = await points(app)
    assert account is not None and account.orders == ["o-1"]
