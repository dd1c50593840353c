"""An event-sourced aggregate in a whole application: its command handler and the CloudEvents
bridge see its events exactly as they see a state-stored aggregate's."""

from __future__ import annotations

from typing import ClassVar

from facta import (
    ApplicationBuilder,
    Command,
    CommandHandler,
    EventContract,
    IntegrationEvent,
    UnitOfWork,
)
from facta.integration.publishers import InMemoryPublisher
from support.ledger import EntryPosted, Ledger


class PostEntry(Command[int]):
    ledger_id: str
    amount: int


class PostEntryHandler(CommandHandler[PostEntry, int]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.ledgers = uow.repository(Ledger)

    async def handle(self, command: PostEntry) -> int:
        ledger = await self.ledgers.find(command.ledger_id)
        if ledger is None:
            ledger = Ledger.open(command.ledger_id, "ann")
            self.ledgers.add(ledger)
        ledger.post(command.amount)
        return ledger.balance


class EntryPostedV1(IntegrationEvent):
    cloudevent_type: ClassVar[str] = "com.example.ledger.entry.posted.v1"
    ledger_id: str
    amount: int


class EntryPostedContract(EventContract[EntryPosted, EntryPostedV1]):
    source = "/ledgers"

    def map(self, event: EntryPosted) -> EntryPostedV1:
        return EntryPostedV1(ledger_id=event.aggregate_id, amount=event.amount)


async def test_commands_on_an_event_sourced_aggregate_publish_its_events_as_cloudevents() -> None:
    publisher = InMemoryPublisher()
    app = (
        ApplicationBuilder()
        .add_handler(Ledger, PostEntryHandler, EntryPostedContract)
        .publish_cloudevents(publisher)
        .build()
    )

    assert await app.mediator.send(PostEntry(ledger_id="l-1", amount=5)) == 5
    assert await app.mediator.send(PostEntry(ledger_id="l-1", amount=7)) == 12

    published = publisher.published
    assert [event.get_type() for event in published] == [EntryPostedV1.cloudevent_type] * 2
    assert [event.get_data() for event in published] == [
        {"ledger_id": "l-1", "amount": 5},
        {"ledger_id": "l-1", "amount": 7},
    ]
