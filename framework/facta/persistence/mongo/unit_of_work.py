"""The MongoDB unit of work: aggregates, outbox documents and receipts in one transaction.

Aggregates are documents of their pydantic state (see ``codec``) with their type, id and
version. An update is a replace filtered on the version that was read, an insert relies
on the unique (type, id) index, so a stale writer matches nothing and gets
``ConcurrencyError``. Two transactions that write one document at once conflict in
MongoDB (a write conflict): the one that lost is run again after a short backoff, and then
finds the version changed (``ConcurrencyError``) or, if the other one rolled back,
commits. Driver errors become facta errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeAlias, Union

from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import LoadedStream, StreamAppend
from facta.application.ports.outbox import DeliveryStatus, Receipt
from facta.application.ports.unit_of_work import Change, ChangeKind, Commit, StoredState, UnitOfWork
from facta.application.ports.view_store import StoredView, ViewWrite
from facta.application.views import View, ViewQuery
from facta.domain import AggregateRoot, EventSourcedAggregate, utc_now
from facta.errors import AlreadyDelivered, ConcurrencyError, PersistenceError
from facta.persistence.mongo.codec import Document, to_document, truncate_to_millisecond
from facta.persistence.mongo.driver import Collection, Session
from facta.persistence.mongo.event_store import append_streams, load_stream, stream_version
from facta.persistence.mongo.filters import checked_str, checked_uuid
from facta.persistence.mongo.store import MongoStore, abort, commit_transaction, is_transient
from facta.persistence.mongo.views import (
    MongoViews,
    apply_view_write,
    stored_view,
    view_document,
    view_filter,
    view_key,
    view_sort,
)

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorClientSession
    from pymongo.asynchronous.client_session import AsyncClientSession

__all__ = ["MongoSession", "MongoUnitOfWork"]

MongoSession: TypeAlias = Union["AsyncClientSession", "AsyncIOMotorClientSession"]
"""The session of a unit of work's transaction, of the driver of your client."""

_DUPLICATE_KEY = 11000


class MongoUnitOfWork(UnitOfWork):
    """A unit of work on a ``MongoStore`` (PyMongo's ``AsyncMongoClient`` or motor)."""

    def __init__(
        self, store: MongoStore, event_flow: EventFlow, views: MongoViews | None = None
    ) -> None:
        super().__init__(event_flow)
        self._store = store
        self._views = views if views is not None else MongoViews(store)
        self._session: Session | None = None
        self._writing: Change | ViewWrite | None = None
        self._appending: Sequence[StreamAppend] = ()

    @property
    def store(self) -> MongoStore:
        """facta's database: its collections, for reads of your own."""
        return self._store

    async def session(self) -> MongoSession | None:
        """The session of this unit of work's transaction, for writes of your own.

        Pass it as ``session=`` to your collection calls (a read model, say): what you
        write commits with the unit of work's commit, in one transaction with the
        aggregates, the events and the handler's receipt, or not at all. It is a session
        of your client's driver; None when transactions are off. Once you have asked for
        it, a write conflict can no longer be retried for you: it raises
        ``ConcurrencyError`` (or ``PersistenceError``) and the command may be sent again.
        """
        await self._store.ready()
        if not self._store.transactions:
            return None
        if self._session is None:
            self._session = await self._store.begin()
        native: MongoSession = self._session  # type: ignore[assignment]
        return native

    async def load_state(
        self, aggregate_type: type[AggregateRoot], aggregate_id: str
    ) -> StoredState | None:
        key = _key(aggregate_type.aggregate_type, aggregate_id)
        await self._store.ready()
        try:
            document = await self._store.aggregates.find_one(
                key, {"state": 1, "version": 1, "_id": 0}, session=self._session
            )
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot load {aggregate_type.aggregate_type} {aggregate_id!r}: {error}"
            ) from error
        if document is None:
            return None
        return StoredState(document["state"], int(document["version"]))

    async def load_stream(
        self, aggregate_type: type[EventSourcedAggregate], aggregate_id: str
    ) -> LoadedStream:
        await self._store.ready()
        schema = aggregate_type.state_schema() if aggregate_type.snapshot_every else None
        try:
            return await load_stream(
                self._store, self._session, aggregate_type.aggregate_type, aggregate_id, schema
            )
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot load {aggregate_type.aggregate_type} {aggregate_id!r}: {error}"
            ) from error

    async def load_view(self, view_type: type[View], view_id: str) -> StoredView | None:
        collection = await self._views.collection(view_type)
        try:
            document = await collection.find_one(
                {"_id": view_key(view_type, view_id)}, session=self._session
            )
        except PyMongoError as error:
            raise PersistenceError(f"cannot load view {view_type.view_name!r}: {error}") from error
        return None if document is None else stored_view(document)

    async def query_views(self, query: ViewQuery) -> list[StoredView]:
        if query.limit == 0:  # MongoDB reads a limit of 0 as no limit
            return []
        collection = await self._views.collection(query.view_type)
        try:
            documents = await collection.find(
                view_filter(query),
                sort=view_sort(query),
                skip=query.offset,
                limit=query.limit or 0,
                session=self._session,
            ).to_list(None)
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot query view {query.view_type.view_name!r}: {error}"
            ) from error
        return [stored_view(document) for document in documents]

    async def count_views(self, query: ViewQuery) -> int:
        collection = await self._views.collection(query.view_type)
        try:
            return await collection.count_documents(view_filter(query), session=self._session)
        except PyMongoError as error:
            raise PersistenceError(
                f"cannot count view {query.view_type.view_name!r}: {error}"
            ) from error

    async def write_changes(self, commit: Commit) -> None:
        session, self._session = self._session, None
        if session is None and commit.empty:
            return
        try:
            await self._write(session, commit)
        except _Conflict as conflict:
            raise await self._concurrency_error(conflict.change) from conflict.__cause__
        except _ViewConflict as conflict:
            raise await self._view_concurrency_error(conflict.write) from conflict.__cause__
        except PyMongoError as error:
            writing = self._writing
            if isinstance(writing, ViewWrite) and is_transient(error):
                raise await self._view_concurrency_error(writing) from error
            if isinstance(writing, Change) and is_transient(error):
                raise await self._concurrency_error(writing) from error
            if self._appending and (is_transient(error) or _is_duplicate(error)):
                raise await self._stream_error(self._appending) from error
            if self._store.transactions:
                raise PersistenceError(f"the commit failed and was rolled back: {error}") from error
            raise PersistenceError(
                f"the commit failed; without transactions, what it wrote before the failure "
                f"stays written: {error}"
            ) from error
        finally:
            self._writing = None
            self._appending = ()
            if session is not None:
                await abort(session)  # nothing to do once committed
                await session.end_session()

    async def _write(self, session: Session | None, commit: Commit) -> None:
        """Encode everything first (nothing is written if a value cannot be stored), then
        write it in one transaction: the unit of work's own, or one run (and re-run after
        a write conflict) for this commit."""
        writes = [(change, _aggregate_document(change)) for change in commit.changes]
        views: list[tuple[ViewWrite, Collection, Document | None]] = [
            (
                write,
                await self._views.collection(write.view_type),  # indexed outside the transaction
                None if write.view is None else view_document(write),
            )
            for write in commit.views
        ]
        await self._store.ready()
        events = await self._outbox_documents(commit)
        appends = commit.appends
        if session is None and _single_write(commit):
            # one document written (a handler's receipt, most often): atomic on its own
            await self._apply(None, writes, events, views, commit.receipt, appends)
        elif session is None:
            await self._store.transaction(
                lambda session: self._apply(session, writes, events, views, commit.receipt, appends)
            )
        else:
            await self._apply(session, writes, events, views, commit.receipt, appends)
            await commit_transaction(session)

    async def discard(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            try:
                await abort(session)
            finally:
                await session.end_session()

    async def _apply(
        self,
        session: Session | None,
        writes: list[tuple[Change, Document]],
        events: list[Document],
        views: list[tuple[ViewWrite, Collection, Document | None]],
        receipt: Receipt | None,
        appends: Sequence[StreamAppend] = (),
    ) -> None:
        aggregates = self._store.aggregates
        for change, document in writes:
            self._writing = change
            key = _key(change.aggregate_type, change.aggregate_id)
            if change.kind is ChangeKind.INSERT:
                try:
                    await aggregates.insert_one(document, session=session)
                except DuplicateKeyError as error:
                    raise _Conflict(change) from error
                continue
            guard = {**key, "version": change.expected_version}
            if change.kind is ChangeKind.DELETE:
                applied = (await aggregates.delete_one(guard, session=session)).deleted_count
            else:
                result = await aggregates.replace_one(guard, document, session=session)
                applied = result.matched_count
            if applied != 1:
                raise _Conflict(change)
        self._writing = None
        if events:
            try:
                await self._store.outbox.insert_many(events, ordered=True, session=session)
            except BulkWriteError as error:
                duplicate = _duplicate_event(error)
                if duplicate is None:
                    raise
                raise PersistenceError(
                    f"the outbox already holds event {duplicate}; nothing was written"
                ) from error
        for view_write, collection, encoded in views:
            self._writing = view_write
            try:
                applied = await apply_view_write(collection, session, view_write, encoded)
            except DuplicateKeyError as error:
                raise _ViewConflict(view_write) from error
            if not applied:
                raise _ViewConflict(view_write)
        self._writing = None
        if receipt is not None:
            await self._record_receipt(session, receipt, alone=not (writes or events or views))
        if appends:  # last: the position counter is a point of conflict, held briefly
            self._appending = appends
            await append_streams(self._store, session, appends)
            self._appending = ()

    async def _record_receipt(
        self, session: Session | None, receipt: Receipt, *, alone: bool
    ) -> None:
        event_id = checked_uuid(receipt.event_id, "an event id")
        handler = checked_str(receipt.handler, "a handler name")
        # a receipt alone need not wait for the journal: lost in a crash, it only means that
        # the handler (which wrote nothing) runs again, which at-least-once delivery allows
        receipts = self._store.receipts if alone and session is None else self._store.deliveries
        try:
            await receipts.update_one(
                {"event_id": event_id, "handler": handler, "status": DeliveryStatus.FAILED.value},
                {
                    "$set": {
                        "status": DeliveryStatus.DONE.value,
                        "next_attempt_at": None,
                        "updated_at": truncate_to_millisecond(utc_now()),
                    },
                    "$setOnInsert": {"attempts": 0, "last_error": ""},
                },
                upsert=True,
                session=session,
            )
        except DuplicateKeyError as error:  # done or dead already
            raise AlreadyDelivered(str(event_id), handler) from error

    async def _outbox_documents(self, commit: Commit) -> list[Document]:
        if not commit.entries:
            return []
        position = await self._store.reserve_positions(len(commit.entries))
        now = truncate_to_millisecond(utc_now())
        documents: list[Document] = []
        for offset, entry in enumerate(commit.entries):
            event = entry.event
            documents.append(
                {
                    "_id": event.event_id,
                    "position": position + offset,
                    "event_type": event.event_type,
                    "aggregate_id": event.aggregate_id,
                    "aggregate_version": event.aggregate_version,
                    "correlation_id": event.correlation_id,
                    "causation_id": event.causation_id,
                    "payload": to_document(event),
                    "recorded_at": now,
                    "available_at": truncate_to_millisecond(entry.available_at),
                    "locked_until": None,
                    "claim": None,
                    "delivered_at": now if entry.delivered else None,
                }
            )
        return documents

    async def _stream_error(self, appends: Sequence[StreamAppend]) -> ConcurrencyError:
        """The error for a refused append: names the stream that moved on, or the first."""
        for append in appends:
            actual = await stream_version(self._store, append.stream_type, append.stream_id)
            if actual != append.expected_version:
                break
        else:
            append, actual = appends[0], -1
        return ConcurrencyError(
            append.stream_type, append.stream_id, append.expected_version, actual
        )

    async def _view_concurrency_error(self, write: ViewWrite) -> ConcurrencyError:
        """The error for a failed view version check, with the version stored now."""
        try:
            collection = await self._views.collection(write.view_type)
            stored = await collection.find_one(
                {"_id": view_key(write.view_type, write.view_id)}, {"_version": 1}
            )
        except PyMongoError:
            actual = -1
        else:
            actual = 0 if stored is None else int(stored["_version"])
        return ConcurrencyError(
            write.view_type.view_name, write.view_id, write.expected_version, actual
        )

    async def _concurrency_error(self, change: Change) -> ConcurrencyError:
        """The error for a failed version check, with the version stored now."""
        try:
            stored = await self._store.aggregates.find_one(
                _key(change.aggregate_type, change.aggregate_id), {"version": 1, "_id": 0}
            )
        except PyMongoError:
            actual = -1
        else:
            actual = 0 if stored is None else int(stored["version"])
        return ConcurrencyError(
            change.aggregate_type, change.aggregate_id, change.expected_version, actual
        )


class _ViewConflict(Exception):
    """A view's version check failed; carries the write so the error can name it."""

    def __init__(self, write: ViewWrite) -> None:
        super().__init__(write.view_id)
        self.write = write


class _Conflict(Exception):
    """A version check failed; carries the change so the error can name it."""

    def __init__(self, change: Change) -> None:
        super().__init__(change.aggregate_id)
        self.change = change


def _key(aggregate_type: str, aggregate_id: object) -> dict[str, str]:
    return {
        "type": checked_str(aggregate_type, "an aggregate type"),
        "id": checked_str(aggregate_id, f"the id of a {aggregate_type}"),
    }


def _aggregate_document(change: Change) -> Document:
    if change.kind is ChangeKind.DELETE:
        return {}
    return {
        **_key(change.aggregate_type, change.aggregate_id),
        "version": change.new_version,
        "state": to_document(change.aggregate),
        "updated_at": truncate_to_millisecond(utc_now()),
    }


def _duplicate_event(error: BulkWriteError) -> object | None:
    """The event id a failed outbox insert collided on, or None for another failure."""
    write_errors: list[Document] = error.details.get("writeErrors") or []
    for write_error in write_errors:
        if write_error.get("code") == _DUPLICATE_KEY:
            event_id: object = write_error.get("op", {}).get("_id")
            return event_id
    return None


def _single_write(commit: Commit) -> bool:
    """Whether the commit writes exactly one document (so needs no transaction)."""
    if commit.appends:
        return False
    writes = len(commit.changes) + len(commit.entries) + len(commit.views)
    return writes + (commit.receipt is not None) == 1


def _is_duplicate(error: PyMongoError) -> bool:
    """Whether a write failed on a unique key (a stream version taken first)."""
    if isinstance(error, BulkWriteError):
        return _duplicate_event(error) is not None
    return isinstance(error, DuplicateKeyError)
