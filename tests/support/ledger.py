"""An event-sourced ledger for facta's own tests, and how an "older release" stored its events.

``Ledger`` is the state of its events: opened, then entries posted. ``EntryPosted`` is at
``event_version`` 3: version 1 stored ``{"value": ...}``, version 2 renamed it
``amount``, version 3 added ``memo``; two ``EventUpcaster`` steps read the old ones.
``SnapshottedLedger`` is the same aggregate with a snapshot every 5 events.
``write_old_event`` writes a stored event straight into a back-end's storage, as the
release that had that shape wrote it (no facta code of today involved).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from facta import Application, DomainError, DomainEvent, EventSourcedAggregate, EventUpcaster
from facta.domain import utc_now


class LedgerClosed(DomainError):
    """An entry was posted to a closed ledger."""


class LedgerOpened(DomainEvent):
    owner: str


class EntryPosted(DomainEvent):
    event_version: ClassVar[int] = 3

    amount: int
    memo: str


class LedgerClosedEvent(DomainEvent):
    event_type: ClassVar[str] = "LedgerClosed"


class Ledger(EventSourcedAggregate):
    owner: str = ""
    balance: int = 0
    entries: int = 0
    closed: bool = False

    @classmethod
    def open(cls, ledger_id: str, owner: str) -> Ledger:
        ledger = cls(id=ledger_id)
        ledger.record(LedgerOpened(owner=owner))
        return ledger

    def post(self, amount: int, memo: str = "") -> None:
        if self.closed:
            raise LedgerClosed(f"ledger {self.id} is closed")
        self.record(EntryPosted(amount=amount, memo=memo))

    def close(self) -> None:
        self.record(LedgerClosedEvent())

    def apply_opened(self, event: LedgerOpened) -> None:
        self.owner = event.owner

    def apply_posted(self, event: EntryPosted) -> None:
        self.balance += event.amount
        self.entries += 1

    def apply_closed(self, event: LedgerClosedEvent) -> None:
        self.closed = True


class SnapshottedLedger(Ledger):
    snapshot_every: ClassVar[int | None] = 5


class EntryPostedV1ToV2(EventUpcaster):
    event_type = "EntryPosted"
    from_version = 1

    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        data["amount"] = data.pop("value")
        return data


class EntryPostedV2ToV3(EventUpcaster):
    event_type = "EntryPosted"
    from_version = 2

    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "memo": "(before memos)"}


LEDGER_TYPES = (Ledger, SnapshottedLedger, EntryPostedV1ToV2, EntryPostedV2ToV3)
"""What a test application registers (``add_handler(*LEDGER_TYPES)``)."""


def old_event_fields(
    event_type: str, stream_id: str, version: int, payload: dict[str, Any]
) -> dict[str, Any]:
    """A stored event's fields as an older release wrote them: its payload and metadata."""
    return {
        "event_id": str(uuid4()),
        "occurred_at": "2024-01-02T03:04:05.000000Z",
        "aggregate_id": stream_id,
        "aggregate_version": version,
        "correlation_id": None,
        "causation_id": None,
        "traceparent": None,
        **payload,
    }


async def write_old_event(
    app: Application,
    backend: str,
    stream_type: str,
    stream_id: str,
    version: int,
    event_type: str,
    event_version: int,
    payload: dict[str, Any],
    recorded_at: datetime | None = None,
) -> None:
    """Store one event straight into the application's back-end, as an older release did."""
    fields = old_event_fields(event_type, stream_id, version, payload)
    event_id = UUID(fields["event_id"])
    recorded_at = recorded_at or utc_now()
    if backend == "memory":
        from facta import InMemoryStore
        from facta.application.ports.event_store import StoredEvent

        app.get(InMemoryStore).streams.import_records(
            [
                StoredEvent(
                    0,
                    stream_type,
                    stream_id,
                    version,
                    event_id,
                    event_type,
                    event_version,
                    recorded_at,
                    json.dumps(fields),
                )
            ]
        )
    elif backend in ("sqlite", "postgresql"):
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncEngine

        engine = app.get(AsyncEngine)  # type: ignore[type-abstract]
        data = "CAST(:data AS JSONB)" if engine.dialect.name == "postgresql" else ":data"
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO facta_events (stream_type, stream_id, version, event_id, "
                    "event_type, event_version, recorded_at, data) VALUES (:stream_type, "
                    f":stream_id, :version, :event_id, :event_type, :event_version, "
                    f":recorded_at, {data})"
                ),
                {
                    "stream_type": stream_type,
                    "stream_id": stream_id,
                    "version": version,
                    "event_id": event_id if engine.dialect.name == "postgresql" else event_id.hex,
                    "event_type": event_type,
                    "event_version": event_version,
                    "recorded_at": recorded_at
                    if engine.dialect.name == "postgresql"
                    else recorded_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    "data": json.dumps(fields),
                },
            )
    else:
        from pymongo import ReturnDocument

        from facta.persistence.mongo import MongoStore

        store = app.get(MongoStore)
        await store.ready()
        counter = await store.collection("facta_counters").find_one_and_update(
            {"_id": "events"},
            {"$inc": {"value": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        document = {
            **fields,
            "event_id": event_id,
            "occurred_at": datetime.fromisoformat(fields["occurred_at"]),
        }
        await store.collection("facta_events").insert_one(
            {
                "_id": event_id,
                "position": int(counter["value"]),
                "stream_type": stream_type,
                "stream_id": stream_id,
                "version": version,
                "event_type": event_type,
                "event_version": event_version,
                "recorded_at": recorded_at,
                "data": document,
            }
        )
