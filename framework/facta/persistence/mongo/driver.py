"""The two asyncio drivers behind one face: PyMongo's ``AsyncMongoClient`` and motor.

Collections of both are used through the same calls (``find_one``, ``insert_many``,
``update_many``...). Where they differ is sessions: PyMongo's ``start_session()`` is plain
and its ``start_transaction()`` a coroutine; motor's ``start_session()`` is a coroutine
and its ``start_transaction()`` plain. ``driver_for(client)`` hides that.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias, Union

from pymongo import AsyncMongoClient
from pymongo.read_concern import ReadConcern
from pymongo.results import DeleteResult, InsertManyResult, InsertOneResult, UpdateResult
from pymongo.write_concern import WriteConcern

from facta.errors import ConfigurationError
from facta.persistence.mongo.codec import CODEC_OPTIONS, Document

if TYPE_CHECKING:
    from motor.motor_asyncio import AsyncIOMotorClient

__all__ = ["Collection", "Database", "Driver", "MongoClient", "Session", "driver_for"]

MongoClient: TypeAlias = Union[
    "AsyncMongoClient[dict[str, Any]]", "AsyncIOMotorClient[dict[str, Any]]"
]
"""A client facta can use: PyMongo's ``AsyncMongoClient`` or motor's ``AsyncIOMotorClient``."""

MAJORITY = WriteConcern("majority")


class Session(Protocol):
    """A client session of either driver, as facta uses it."""

    async def commit_transaction(self) -> None: ...
    async def abort_transaction(self) -> None: ...
    async def end_session(self) -> None: ...


class Cursor(Protocol):
    def to_list(self, length: int | None = ...) -> Awaitable[list[Document]]: ...


class Collection(Protocol):
    """The calls facta makes on a collection; both drivers' collections have them."""

    @property
    def name(self) -> str: ...

    def find(self, *args: Any, **kwargs: Any) -> Cursor: ...
    async def find_one(self, filter: Any | None = None, *args: Any, **kwargs: Any) -> Any: ...
    async def find_one_and_update(self, *args: Any, **kwargs: Any) -> Any: ...
    async def insert_one(self, *args: Any, **kwargs: Any) -> InsertOneResult: ...
    async def insert_many(self, *args: Any, **kwargs: Any) -> InsertManyResult: ...
    async def replace_one(self, *args: Any, **kwargs: Any) -> UpdateResult: ...
    async def update_one(self, *args: Any, **kwargs: Any) -> UpdateResult: ...
    async def update_many(self, *args: Any, **kwargs: Any) -> UpdateResult: ...
    async def delete_one(self, *args: Any, **kwargs: Any) -> DeleteResult: ...
    async def delete_many(self, *args: Any, **kwargs: Any) -> DeleteResult: ...
    async def count_documents(self, *args: Any, **kwargs: Any) -> int: ...
    async def distinct(self, *args: Any, **kwargs: Any) -> list[Any]: ...
    async def create_indexes(self, *args: Any, **kwargs: Any) -> list[str]: ...
    async def index_information(self, *args: Any, **kwargs: Any) -> Any: ...


class Database(Protocol):
    """A database of either driver, as facta uses it."""

    @property
    def name(self) -> str: ...

    def get_collection(self, name: str, *args: Any, **kwargs: Any) -> Any: ...
    async def command(self, *args: Any, **kwargs: Any) -> Any: ...


class Driver(ABC):
    """One client, one database: facta's collections on it and its sessions."""

    name: str
    """The driver's name, for messages."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def collection(self, name: str, write_concern: WriteConcern = MAJORITY) -> Collection:
        """The collection ``name`` of facta's database, with facta's codec options."""
        collection: Collection = self.database.get_collection(name, write_concern=write_concern)
        return collection

    @abstractmethod
    async def begin(self) -> Session:
        """A new session with a transaction started on it (snapshot reads, majority writes)."""

    @abstractmethod
    async def close(self) -> None:
        """Close the client."""


_READ_CONCERN = ReadConcern("snapshot")


class _PyMongo(Driver):
    name = "pymongo"

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        super().__init__(
            client.get_database(database, codec_options=CODEC_OPTIONS, write_concern=MAJORITY)
        )
        self._client = client

    async def begin(self) -> Session:
        session = self._client.start_session()
        try:
            await session.start_transaction(read_concern=_READ_CONCERN, write_concern=MAJORITY)
        except BaseException:
            await session.end_session()
            raise
        return session

    async def close(self) -> None:
        await self._client.close()


class _Motor(Driver):
    name = "motor"

    def __init__(self, client: AsyncIOMotorClient[Document], database: str) -> None:
        super().__init__(
            client.get_database(database, codec_options=CODEC_OPTIONS, write_concern=MAJORITY)
        )
        self._client = client

    async def begin(self) -> Session:
        session = await self._client.start_session()
        try:
            session.start_transaction(read_concern=_READ_CONCERN, write_concern=MAJORITY)
        except BaseException:
            await session.end_session()
            raise
        return session

    async def close(self) -> None:
        self._client.close()


def driver_for(client: object, database: str) -> Driver:
    """The driver of ``client``; refuses anything but the two asyncio clients."""
    module = type(client).__module__
    if isinstance(client, AsyncMongoClient):
        return _PyMongo(client, database)
    if module.startswith("motor.") and type(client).__name__ == "AsyncIOMotorClient":
        return _Motor(client, database)  # type: ignore[arg-type]  # motor's own class
    raise ConfigurationError(
        f"MongoPersistence needs an asyncio client: pymongo.AsyncMongoClient or "
        f"motor.motor_asyncio.AsyncIOMotorClient, not {module}.{type(client).__qualname__} "
        f"(a synchronous client would block the event loop)"
    )
