"""The MongoDB outbox: claiming due events under a lease, recording deliveries.

Claiming takes three steps, each safe against other workers: find the ids of due events
(oldest first, on the partial index of undelivered ones); stamp those that are *still*
due with a lease and a fresh claim token in one ``update_many``, whose filter MongoDB
checks again on each document as it writes it; then read back the events that carry the
token. A document is written by one update at a time, so of two workers racing for one
event exactly one stamps it; the other's update skips it. A worker that lost every event
it found looks again.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError, PyMongoError

from facta.application import HandlerRegistry
from facta.application.ports.outbox import (
    DECODING,
    Delivery,
    DeliveryRecord,
    DeliveryStatus,
    DeliveryUpdate,
    Outbox,
    OutboxRow,
    OutboxStats,
    Receipt,
)
from facta.domain import DomainEvent, utc_now
from facta.errors import PersistenceError
from facta.persistence.mongo.codec import Document, truncate_to_millisecond
from facta.persistence.mongo.driver import Session
from facta.persistence.mongo.filters import checked_datetime, checked_str, checked_uuid
from facta.persistence.mongo.store import PRUNES, MongoStore

__all__ = ["DECODING", "MongoOutbox"]

_DUE_ORDER = [("available_at", ASCENDING), ("position", ASCENDING)]
_CLAIM_ROUNDS = 5
_CHUNK = 1000


class MongoOutbox(Outbox):
    """The outbox in ``facta_outbox`` and ``facta_deliveries``."""

    def __init__(self, store: MongoStore, registry: HandlerRegistry) -> None:
        self._store = store
        self._registry = registry

    def event_class(self, event_type: str) -> type[DomainEvent]:
        return self._registry.event_type(event_type)

    async def claim_rows(self, limit: int, lease: timedelta) -> list[OutboxRow]:
        await self._store.ready()
        outbox = self._store.outbox
        try:
            for _ in range(_CLAIM_ROUNDS):
                now = utc_now()
                due = _due(now)
                found = await outbox.find(due, {"_id": 1}, sort=_DUE_ORDER, limit=limit).to_list(
                    limit
                )
                if not found:
                    return []
                token = uuid4()
                ids = [document["_id"] for document in found]
                await outbox.update_many(
                    {"_id": {"$in": ids}, **due},
                    {"$set": {"locked_until": now + lease, "claim": token}},
                )
                claimed = await outbox.find({"_id": {"$in": ids}, "claim": token}).to_list(None)
                if claimed:
                    claimed.sort(key=lambda document: int(document["position"]))
                    return await self._stored(claimed)
                # every event found was claimed by another worker in between: look again
        except PyMongoError as error:
            raise PersistenceError(f"cannot claim outbox events: {error}") from error
        return []

    async def complete(self, event_ids: Sequence[UUID], receipts: Sequence[Receipt] = ()) -> None:
        if not (event_ids or receipts):
            return
        ids = [checked_uuid(event_id, "an event id") for event_id in event_ids]
        await self._store.ready()
        try:
            # receipts first: a crash in between leaves events whose handlers are all
            # settled, which the relay then marks delivered without running anything
            for receipt in receipts:
                await self._record_receipt(receipt)
            if not ids:
                return
            await self._store.outbox.update_many(
                {"_id": {"$in": ids}},
                {"$set": {"delivered_at": _now(), "locked_until": None}},
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot mark events delivered: {error}") from error

    async def _record_receipt(self, receipt: Receipt) -> None:
        """A deferred receipt, unless the handler is done or dead already."""
        try:
            await self._store.receipts.update_one(
                {
                    "event_id": checked_uuid(receipt.event_id, "an event id"),
                    "handler": checked_str(receipt.handler, "a handler name"),
                    "status": DeliveryStatus.FAILED.value,
                },
                {
                    "$set": {
                        "status": DeliveryStatus.DONE.value,
                        "next_attempt_at": None,
                        "updated_at": _now(),
                    },
                    "$setOnInsert": {"attempts": 0, "last_error": ""},
                },
                upsert=True,
            )
        except DuplicateKeyError:
            pass  # done or dead already: a late duplicate changes nothing

    async def update_deliveries(
        self, event_id: UUID, decide: Callable[[Mapping[str, Delivery]], DeliveryUpdate]
    ) -> None:
        event_id = checked_uuid(event_id, "an event id")

        async def write(session: Session | None) -> None:
            deliveries = self._store.deliveries
            known = {
                document["handler"]: Delivery(
                    DeliveryStatus(document["status"]),
                    int(document["attempts"]),
                    document["last_error"],
                    document.get("next_attempt_at"),
                    document["updated_at"],
                )
                for document in await deliveries.find(
                    {"event_id": event_id}, session=session
                ).to_list(None)
            }
            decided = decide(known)
            for handler, delivery in decided.deliveries.items():
                await deliveries.update_one(
                    {"event_id": event_id, "handler": checked_str(handler, "a handler name")},
                    {
                        "$set": {
                            "status": delivery.status.value,
                            "attempts": delivery.attempts,
                            "last_error": delivery.last_error,
                            "next_attempt_at": delivery.next_attempt_at,
                            "updated_at": delivery.updated_at,
                        }
                    },
                    upsert=True,
                    session=session,
                )
            due = decided.due
            await self._store.outbox.update_one(
                {"_id": event_id},
                {
                    "$set": {
                        "locked_until": None,
                        **({"delivered_at": decided.at} if due is None else {"available_at": due}),
                    }
                },
                session=session,
            )

        await self._store.ready()
        try:
            await self._store.transaction(write)
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot record the deliveries of {event_id}: {error}"
            ) from error

    async def is_delivered(self, event_id: UUID, handler: str) -> bool:
        filter_ = {
            "event_id": checked_uuid(event_id, "an event id"),
            "handler": checked_str(handler, "a handler name"),
        }
        await self._store.ready()
        try:
            document = await self._store.deliveries.find_one(filter_, {"status": 1})
        except PyMongoError as error:
            raise PersistenceError(f"cannot look up a delivery: {error}") from error
        return document is not None and document["status"] == DeliveryStatus.DONE.value

    async def pending_rows(self, limit: int) -> list[OutboxRow]:
        await self._store.ready()
        try:
            documents = await self._store.outbox.find(
                {"delivered_at": None}, sort=[("position", ASCENDING)], limit=limit
            ).to_list(limit)
            return await self._stored(documents)
        except PyMongoError as error:
            raise PersistenceError(f"cannot list pending events: {error}") from error

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[DeliveryRecord]:
        if limit <= 0:
            return []
        filter_: Document = {} if status is None else {"status": DeliveryStatus(status).value}
        await self._store.ready()
        try:
            records = await self._store.deliveries.find(
                filter_, sort=[("updated_at", DESCENDING)], limit=limit
            ).to_list(limit)
            events = {
                document["_id"]: document
                for document in await self._store.outbox.find(
                    {"_id": {"$in": list({record["event_id"] for record in records})}},
                    {"event_type": 1, "aggregate_id": 1},
                ).to_list(None)
            }
        except PyMongoError as error:
            raise PersistenceError(f"cannot list deliveries: {error}") from error
        return [
            DeliveryRecord(
                event_id=record["event_id"],
                event_type=events.get(record["event_id"], {}).get("event_type", ""),
                aggregate_id=events.get(record["event_id"], {}).get("aggregate_id", ""),
                handler=record["handler"],
                status=DeliveryStatus(record["status"]),
                attempts=int(record["attempts"]),
                last_error=record["last_error"],
                next_attempt_at=record.get("next_attempt_at"),
                updated_at=record["updated_at"],
            )
            for record in records
        ]

    async def replay(self, event_id: UUID | None = None, handler: str | None = None) -> int:
        condition: Document = {"status": DeliveryStatus.DEAD.value}
        if event_id is not None:
            condition["event_id"] = checked_uuid(event_id, "an event id")
        if handler is not None:
            condition["handler"] = checked_str(handler, "a handler name")

        async def revive(session: Session | None) -> int:
            dead = await self._store.deliveries.find(
                condition, {"_id": 1, "event_id": 1}, session=session
            ).to_list(None)
            if not dead:
                return 0
            await self._store.deliveries.delete_many(
                {"_id": {"$in": [document["_id"] for document in dead]}}, session=session
            )
            await self._store.outbox.update_many(
                {"_id": {"$in": list({document["event_id"] for document in dead})}},
                {"$set": {"delivered_at": None, "available_at": _now(), "locked_until": None}},
                session=session,
            )
            return len(dead)

        await self._store.ready()
        try:
            return await self._store.transaction(revive)
        except PyMongoError as error:
            raise PersistenceError(f"cannot replay dead letters: {error}") from error

    async def prune(self, delivered_before: datetime, limit: int | None = None) -> int:
        before = checked_datetime(delivered_before, "the time to prune before")
        if limit is not None and limit <= 0:
            return 0

        async def prune_chunk(size: int, session: Session | None) -> int:
            # in one snapshot: an event dead-lettered meanwhile conflicts, and is looked at again
            dead = await self._store.deliveries.distinct(
                "event_id", {"status": DeliveryStatus.DEAD.value}, session=session
            )
            doomed = await self._store.outbox.find(
                {"delivered_at": {"$lt": before}, "_id": {"$nin": dead}},
                {"_id": 1},
                sort=[("delivered_at", ASCENDING)],
                limit=size,
                session=session,
            ).to_list(size)
            event_ids = [document["_id"] for document in doomed]
            if event_ids:
                await self._store.deliveries.delete_many(
                    {"event_id": {"$in": event_ids}}, session=session
                )
                await self._store.outbox.delete_many({"_id": {"$in": event_ids}}, session=session)
                # recorded for ProjectionStore.pruned: a rebuild cannot replay these events
                await self._store.collection(PRUNES).update_one(
                    {"_id": "outbox"},
                    {"$inc": {"events": len(event_ids)}, "$max": {"last_pruned_at": _now()}},
                    upsert=True,
                    session=session,
                )
            return len(event_ids)

        await self._store.ready()
        pruned = 0
        try:
            while limit is None or pruned < limit:
                size = _CHUNK if limit is None else min(_CHUNK, limit - pruned)
                deleted = await self._store.transaction(functools.partial(prune_chunk, size))
                pruned += deleted
                if deleted < size:
                    break
        except PyMongoError as error:
            raise PersistenceError(f"cannot prune the outbox: {error}") from error
        return pruned

    async def stats(self) -> OutboxStats:
        await self._store.ready()
        try:
            pending = await self._store.outbox.count_documents({"delivered_at": None})
            total = await self._store.outbox.count_documents({})
            dead = await self._store.deliveries.count_documents(
                {"status": DeliveryStatus.DEAD.value}
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot count outbox events: {error}") from error
        return OutboxStats(total - pending, pending, dead)

    async def _stored(self, documents: Sequence[Document]) -> list[OutboxRow]:
        """The outbox documents with the handlers settled for each (done or dead)."""
        if not documents:
            return []
        settled: dict[UUID, set[str]] = {}
        for delivery in await self._store.deliveries.find(
            {
                "event_id": {"$in": [document["_id"] for document in documents]},
                "status": {"$ne": DeliveryStatus.FAILED.value},
            },
            {"event_id": 1, "handler": 1},
        ).to_list(None):
            settled.setdefault(delivery["event_id"], set()).add(delivery["handler"])
        return [
            OutboxRow(
                int(document["position"]),
                document["_id"],
                str(document.get("event_type", "")),
                document.get("payload", {}),
                frozenset(settled.get(document["_id"], ())),
            )
            for document in documents
        ]


def _now() -> datetime:
    return truncate_to_millisecond(utc_now())


def _due(now: datetime) -> Document:
    """Undelivered, available, and not under another worker's lease."""
    return {
        "delivered_at": None,
        "available_at": {"$lte": now},
        "locked_until": {"$not": {"$gt": now}},
    }
