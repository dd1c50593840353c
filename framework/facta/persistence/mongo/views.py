"""View collections on MongoDB: one collection per view type, indexed as it declares.

A view type's views live in ``facta_view_<view_name>``, one document per view::

    {_id: the view's id, _version: its version, <every field of the view>}

The fields are encoded with facta's codec (``Decimal`` as Decimal128, ``UUID`` as
standard binary, aware datetimes in UTC to the millisecond, enums by value), and each
indexed field with the very value queries compare (a naive datetime in an indexed field
is stored as UTC, as queries read it). Each declared index is a MongoDB index on
(field, _id), created once per view type by ``MongoViews`` outside any transaction.

Queries never pass a value where MongoDB could read an operator: every condition is
written as an explicit operator (``$eq``, ``$in``, ``$gt``...) on a declared field, with
values checked by ``ViewQuery`` and encoded by the codec, and an id must be a ``str``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import OperationFailure, PyMongoError

from facta.application.ports.view_store import StoredView, ViewWrite
from facta.application.views import IndexKind, View, ViewQuery, index_kind, normalized_value
from facta.errors import ConfigurationError, InvalidViewQuery, PersistenceError
from facta.persistence.mongo.codec import Document, to_bson, to_document
from facta.persistence.mongo.driver import Collection, Session
from facta.persistence.mongo.filters import checked_str
from facta.persistence.mongo.store import MongoStore

__all__ = ["MongoViews", "collection_name", "stored_view", "view_filter", "view_sort"]

_NAMESPACE_EXISTS = 48


def collection_name(view_type: type[View]) -> str:
    """The collection of a view type: ``facta_view_<view_name>``."""
    return f"facta_view_{view_type.view_name}"


def _fields(view_type: type[View]) -> list[tuple[str, IndexKind]]:
    return [
        (name, index_kind(view_type, name))
        for name in dict.fromkeys(view_type.indexes)
        if name != "id"
    ]


class MongoViews:
    """The view collections of one ``MongoStore``: indexes created once per view type.

    One belongs to one application's ``MongoPersistence``; its units of work and
    projection store share it.
    """

    def __init__(self, store: MongoStore) -> None:
        self._store = store
        self._ready: set[type[View]] = set()
        self._lock = asyncio.Lock()

    async def collection(self, view_type: type[View]) -> Collection:
        """The collection of ``view_type``, its indexes created first if missing."""
        if view_type not in self._ready:
            async with self._lock:
                if view_type not in self._ready:
                    await self._ensure(view_type)
                    self._ready.add(view_type)
        return self._store.collection(collection_name(view_type))

    def forget(self, *view_names: str) -> None:
        """Check these view names' collections again on next use (dropped or swapped)."""
        self._ready = {t for t in self._ready if t.view_name not in view_names}

    async def _ensure(self, view_type: type[View]) -> None:
        await self._store.ready()
        name = collection_name(view_type)
        collection = self._store.collection(name)
        indexes = [
            IndexModel([(field, ASCENDING), ("_id", ASCENDING)], name=field)
            for field, _ in _fields(view_type)
        ]
        try:
            if not self._store.creates_indexes:
                present = await collection.index_information()
                missing = [i.document["name"] for i in indexes if i.document["name"] not in present]
                if missing:
                    raise ConfigurationError(
                        f"the MongoDB collection {name} lacks the indexes {', '.join(missing)} "
                        f"that {view_type.__qualname__} declares: create them as a user allowed "
                        f"to, or let MongoPersistence create them (create_indexes=True)"
                    )
            elif indexes:
                await collection.create_indexes(indexes)
            else:
                await self._create(name)
        except PyMongoError as error:
            raise PersistenceError(f"cannot create the indexes of {name}: {error}") from error

    async def _create(self, name: str) -> None:
        """Create an empty collection (views without indexes; a copy never written)."""
        database: Any = self._store.collection(name)
        database = database.database
        try:
            await database.create_collection(name)
        except OperationFailure as error:
            if error.code != _NAMESPACE_EXISTS:
                raise
        except PyMongoError as error:  # CollectionInvalid: it exists
            if "already exists" not in str(error):
                raise

    async def ensure_exists(self, view_type: type[View]) -> None:
        """Make sure the collection exists, even with no index and no document."""
        await self.collection(view_type)
        try:
            await self._create(collection_name(view_type))
        except PyMongoError as error:
            name = collection_name(view_type)
            raise PersistenceError(f"cannot create {name}: {error}") from error


def view_document(write: ViewWrite) -> Document:
    """The document of one inserted or replaced view (encoded before anything is written)."""
    view = write.view
    assert view is not None
    document = to_document(view)
    del document["id"]
    for field, kind in _fields(write.view_type):
        document[field] = to_bson(normalized_value(view, field, kind))
    key = view_key(write.view_type, write.view_id)
    return {"_id": key, "_version": write.new_version, **document}


def view_key(view_type: type[View], view_id: object) -> str:
    """A view id, refused unless it is a ``str`` (no operator can be injected)."""
    return checked_str(view_id, f"the id of a {view_type.view_name} view")


async def apply_view_write(
    collection: Collection, session: Session | None, write: ViewWrite, document: Document | None
) -> bool:
    """Apply one view write (``document``: its ``view_document``, for an insert or an
    update); False when its version check failed (an insert's duplicate key is the
    caller's to catch)."""
    key = view_key(write.view_type, write.view_id)
    if write.kind == "insert":
        await collection.insert_one(document, session=session)
        return True
    guard: Document = {"_id": key, "_version": write.expected_version}
    if write.kind == "update":
        result = await collection.replace_one(guard, document, session=session)
        return result.matched_count == 1
    if write.expected_version == -1:
        await collection.delete_one({"_id": key}, session=session)
        return True
    return (await collection.delete_one(guard, session=session)).deleted_count == 1


def stored_view(document: Document) -> StoredView:
    """A loaded document as a ``StoredView`` (its fields, with ``id``, and its version)."""
    version = int(document.pop("_version"))
    document["id"] = document.pop("_id")
    return StoredView(document, version)


_OPERATORS = {"eq": "$eq", "gt": "$gt", "gte": "$gte", "lt": "$lt", "lte": "$lte", "in": "$in"}


def view_filter(query: ViewQuery) -> Document:
    """The filter of a checked query: an explicit operator per condition."""
    filter_: Document = {}
    for condition in query.conditions:
        key = "_id" if condition.field == "id" else condition.field
        if condition.operator == "in":
            values: Any = condition.value
            value: Any = [_scalar(query, item) for item in values]
        else:
            value = _scalar(query, condition.value)
        filter_.setdefault(key, {})[_OPERATORS[condition.operator]] = value
    return filter_


def view_sort(query: ViewQuery) -> list[tuple[str, int]]:
    """The sort of a query (MongoDB sorts null first ascending and last descending)."""
    return [
        ("_id" if field == "id" else field, DESCENDING if descending else ASCENDING)
        for field, descending in query.order
    ]


def _scalar(query: ViewQuery, value: object) -> Any:
    encoded = to_bson(value)
    if isinstance(encoded, dict | list):  # ViewQuery lets none through; never trust it blindly
        raise InvalidViewQuery(query.view_type.view_name, f"{value!r:.80} is not a plain value")
    return encoded
