"""The ``ProjectionStore`` of the MongoDB back-end, over the outbox and deliveries.

Whether an event must wait reads the undelivered events of its aggregate (on a partial
index by aggregate id and version) and then this projection's receipts of those few.
A rebuilt copy of a view collection is swapped in with ``renameCollection`` and
``dropTarget``, which MongoDB runs atomically; its indexes go with it.
"""

from __future__ import annotations

from collections.abc import Collection as Names
from typing import Any
from uuid import UUID

from pymongo import ASCENDING
from pymongo.errors import PyMongoError

from facta.application import HandlerRegistry
from facta.application.ports.outbox import DeliveryStatus, PendingEvent
from facta.application.ports.projection_store import (
    ProjectionLag,
    ProjectionState,
    ProjectionStore,
    PruneRecord,
)
from facta.application.views import View
from facta.domain import DomainEvent, utc_now
from facta.errors import FactaError, PersistenceError
from facta.persistence.mongo.codec import Document, truncate_to_millisecond
from facta.persistence.mongo.filters import checked_str
from facta.persistence.mongo.store import PROJECTIONS, PRUNES, MongoStore
from facta.persistence.mongo.views import MongoViews, collection_name

__all__ = ["MongoProjectionStore"]

_DONE = DeliveryStatus.DONE.value
_DEAD = DeliveryStatus.DEAD.value
_CHUNK = 500


class MongoProjectionStore(ProjectionStore):
    """Projection bookkeeping in facta's collections, and the view collections of ``views``."""

    def __init__(self, store: MongoStore, registry: HandlerRegistry, views: MongoViews) -> None:
        self._store = store
        self._registry = registry
        self._views = views

    async def unapplied_predecessor(
        self, event: DomainEvent, handler: str, event_types: Names[str]
    ) -> UUID | None:
        if not event.aggregate_id:
            return None
        filter_: Document = {
            "aggregate_id": checked_str(event.aggregate_id, "an aggregate id"),
            "aggregate_version": {"$lt": int(event.aggregate_version)},
            "delivered_at": None,
            "event_type": {"$in": _names(event_types)},
        }
        try:
            await self._store.ready()
            earlier = await self._store.outbox.find(
                filter_, {"_id": 1}, sort=[("aggregate_version", ASCENDING)]
            ).to_list(None)
            if not earlier:
                return None
            ids = [document["_id"] for document in earlier]
            done = set(
                await self._store.deliveries.distinct(
                    "event_id",
                    {"event_id": {"$in": ids}, "handler": _handler(handler), "status": _DONE},
                )
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot look for an earlier event: {error}") from error
        return next((event_id for event_id in ids if event_id not in done), None)

    async def history(
        self,
        handler: str,
        event_types: Names[str],
        after_position: int,
        limit: int,
        *,
        everything: bool,
    ) -> list[PendingEvent]:
        found: list[PendingEvent] = []
        after = int(after_position)
        types = _names(event_types)
        try:
            await self._store.ready()
            while len(found) < limit:
                documents = await self._store.outbox.find(
                    {"position": {"$gt": after}, "event_type": {"$in": types}},
                    sort=[("position", ASCENDING)],
                    limit=_CHUNK,
                ).to_list(_CHUNK)
                if not documents:
                    break
                after = int(documents[-1]["position"])
                if not everything:
                    documents = await self._applied(handler, documents)
                for document in documents[: limit - len(found)]:
                    position = int(document["position"])
                    found.append(PendingEvent(position, self._decode(document), frozenset()))
        except PyMongoError as error:
            raise PersistenceError(f"cannot read the events to replay: {error}") from error
        return found

    async def _applied(self, handler: str, documents: list[Document]) -> list[Document]:
        """The documents ``handler`` applied, or that were delivered without asking it."""
        mine = {
            delivery["event_id"]: delivery["status"]
            for delivery in await self._store.deliveries.find(
                {"event_id": {"$in": [d["_id"] for d in documents]}, "handler": _handler(handler)},
                {"event_id": 1, "status": 1},
            ).to_list(None)
        }
        return [
            document
            for document in documents
            if mine.get(document["_id"]) == _DONE
            or (document["_id"] not in mine and document.get("delivered_at") is not None)
        ]

    def _decode(self, document: Document) -> DomainEvent:
        event_type = document["event_type"]
        try:
            return self._registry.event_type(event_type).model_validate(document["payload"])
        except (FactaError, ValueError, KeyError, TypeError) as error:
            raise PersistenceError(
                f"cannot replay the {event_type} event at outbox position "
                f"{document.get('position')}: {error}"
            ) from error

    async def lag(self, handler: str, event_types: Names[str]) -> ProjectionLag:
        types = _names(event_types)
        name = _handler(handler)
        try:
            await self._store.ready()
            undelivered = await self._store.outbox.find(
                {"delivered_at": None, "event_type": {"$in": types}}, {"_id": 1, "recorded_at": 1}
            ).to_list(None)
            settled = set(
                await self._store.deliveries.distinct(
                    "event_id",
                    {
                        "event_id": {"$in": [d["_id"] for d in undelivered]},
                        "handler": name,
                        "status": {"$in": [_DONE, _DEAD]},
                    },
                )
            )
            dead_ids = await self._store.deliveries.distinct(
                "event_id", {"handler": name, "status": _DEAD}
            )
            dead = await self._store.outbox.count_documents(
                {"_id": {"$in": dead_ids}, "event_type": {"$in": types}}
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot measure a projection's lag: {error}") from error
        pending = [d["recorded_at"] for d in undelivered if d["_id"] not in settled]
        return ProjectionLag(len(pending), min(pending, default=None), dead)

    async def state(self, projection: str) -> ProjectionState:
        try:
            await self._store.ready()
            document = await self._store.collection(PROJECTIONS).find_one(
                {"_id": checked_str(projection, "a projection name")}
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot read a projection's state: {error}") from error
        return ProjectionState.LIVE if document is None else ProjectionState(document["state"])

    async def set_state(self, projection: str, state: ProjectionState) -> None:
        try:
            await self._store.ready()
            await self._store.collection(PROJECTIONS).update_one(
                {"_id": checked_str(projection, "a projection name")},
                {"$set": {"state": state.value, "updated_at": truncate_to_millisecond(utc_now())}},
                upsert=True,
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot set a projection's state: {error}") from error

    async def pruned(self) -> PruneRecord | None:
        try:
            await self._store.ready()
            document = await self._store.collection(PRUNES).find_one({"_id": "outbox"})
        except PyMongoError as error:
            raise PersistenceError(f"cannot read the record of prunes: {error}") from error
        if document is None:
            return None
        return PruneRecord(int(document["events"]), document["last_pruned_at"])

    async def drop_views(self, view_type: type[View]) -> None:
        collection: Any = self._store.collection(collection_name(view_type))
        try:
            await collection.drop()
        except PyMongoError as error:
            raise PersistenceError(f"cannot drop {collection_name(view_type)}: {error}") from error
        finally:
            self._views.forget(view_type.view_name)

    async def swap_views(self, live: type[View], copy: type[View]) -> None:
        await self._views.ensure_exists(copy)  # created empty if nothing was written
        database = self._store.database_name
        admin: Any = self._store.client.admin
        try:
            await admin.command(
                "renameCollection",
                f"{database}.{collection_name(copy)}",
                to=f"{database}.{collection_name(live)}",
                dropTarget=True,
            )
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot swap {collection_name(copy)} in for {collection_name(live)}; "
                f"nothing changed: {error}"
            ) from error
        finally:
            self._views.forget(live.view_name, copy.view_name)


def _names(event_types: Names[str]) -> list[str]:
    return [checked_str(name, "an event type") for name in event_types]


def _handler(handler: str) -> str:
    return checked_str(handler, "a handler name")
