"""Installing the MongoDB back-end in an application: one client, per-operation units of work."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote, urlsplit

import injector
from pymongo import AsyncMongoClient
from pymongo.errors import ConfigurationError as DriverConfigurationError
from pymongo.errors import InvalidURI

from facta.application import HandlerRegistry, OperationScope
from facta.application.dependencies import FactoryProvider
from facta.application.event_flow import EventFlow
from facta.application.ports.event_store import EventStore
from facta.application.ports.outbox import Outbox
from facta.application.ports.projection_store import ProjectionStore
from facta.application.ports.unit_of_work import UnitOfWork
from facta.errors import ConfigurationError
from facta.persistence.mongo.codec import Document
from facta.persistence.mongo.driver import MongoClient
from facta.persistence.mongo.event_store import MongoEventStore
from facta.persistence.mongo.outbox import MongoOutbox
from facta.persistence.mongo.projections import MongoProjectionStore
from facta.persistence.mongo.store import MongoStore
from facta.persistence.mongo.unit_of_work import MongoUnitOfWork
from facta.persistence.mongo.views import MongoViews

__all__ = ["MongoPersistence", "create_client", "ensure_indexes"]


def create_client(url: str) -> AsyncMongoClient[Document]:
    """A PyMongo ``AsyncMongoClient`` for ``url`` that stores UUIDs the standard way and
    reads aware datetimes (facta's own collections use these options whatever the client)."""
    try:
        return AsyncMongoClient(url, uuidRepresentation="standard", tz_aware=True)
    except (InvalidURI, DriverConfigurationError) as error:
        raise ConfigurationError(f"{url!r} is not a usable MongoDB URL: {error}") from error


async def ensure_indexes(store: MongoStore) -> None:
    """Create the indexes facta relies on where they are missing (idempotent).

    ``MongoPersistence`` does it on first use unless told not to (``create_indexes=False``,
    for a database user who may not); run this once as a user who may.
    """
    await store.ensure_indexes()


class MongoPersistence(injector.Module):
    """Installs the MongoDB back-end: give it a URL or a client you made.

    ``MongoPersistence("mongodb://host:27017/shop?replicaSet=rs0")`` uses the database
    the URL names (or ``database=``) through PyMongo's ``AsyncMongoClient``;
    ``MongoPersistence(client=..., database="shop")`` takes an ``AsyncMongoClient`` or a
    motor ``AsyncIOMotorClient`` of yours (which stays yours to close; one made from a URL
    is closed when the application stops). Starting the application, or else its first
    use of the database, checks the server and creates facta's indexes (see ``MongoStore``).

    Commits are multi-document transactions, so the server must be a replica set (one
    node is enough) or a sharded cluster: a standalone server is refused then with
    ``ConfigurationError``, unless ``transactions=False``, which logs a warning naming the
    guarantees that are then lost. A commit that meets a write conflict (another
    transaction writing one of its documents) is run again until ``conflict_timeout``;
    it then ends in ``ConcurrencyError`` or, if the other one rolled back, commits.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: MongoClient | None = None,
        database: str | None = None,
        transactions: bool = True,
        create_indexes: bool = True,
        conflict_timeout: timedelta = timedelta(seconds=10),
    ) -> None:
        if (url is None) == (client is None):
            raise ConfigurationError("MongoPersistence needs either a url or a client")
        self._url = url
        self._client = client
        self._database = database
        self._transactions = transactions
        self._create_indexes = create_indexes
        self._conflict_timeout = conflict_timeout

    def store(self) -> MongoStore:
        """A new ``MongoStore`` as this module configures it (one per application)."""
        client = self._client
        database = self._database
        if client is None:
            url = str(self._url)
            database = database or unquote(urlsplit(url).path.lstrip("/"))
            if not database:
                raise ConfigurationError(
                    "name the MongoDB database: in the URL (mongodb://host:27017/shop) "
                    "or with database='shop'"
                )
            client = create_client(url)
        elif database is None:
            try:
                database = client.get_default_database().name
            except DriverConfigurationError as error:
                raise ConfigurationError(
                    "name the MongoDB database: in the client's URL or with database='shop'"
                ) from error
        return MongoStore(
            client,
            database,
            transactions=self._transactions,
            create_indexes=self._create_indexes,
            conflict_timeout=self._conflict_timeout.total_seconds(),
            owns_client=self._client is None,
        )

    def services(self, container: injector.Injector) -> list[_StoreLifetime]:
        """Checks the server and the indexes when the application starts (so a standalone
        server fails the start), and closes the client this module made when it stops."""
        return [_StoreLifetime(container.get(MongoStore))]

    def configure(self, binder: injector.Binder) -> None:
        store = self.store()
        flows: list[EventFlow] = []
        views = MongoViews(store)  # this application's view collections, indexed when used

        def build(container: injector.Injector) -> UnitOfWork:
            if not flows:
                flows.append(container.get(EventFlow))
            return MongoUnitOfWork(store, flows[0], views)

        def outbox(container: injector.Injector) -> Outbox:
            return MongoOutbox(store, container.get(HandlerRegistry))

        def event_store(container: injector.Injector) -> EventStore:
            return MongoEventStore(store, container.get(HandlerRegistry))

        def projection_store(container: injector.Injector) -> ProjectionStore:
            return MongoProjectionStore(store, container.get(HandlerRegistry), views)

        binder.bind(MongoStore, to=store)
        binder.bind(EventStore, to=FactoryProvider(event_store), scope=injector.SingletonScope)  # type: ignore[type-abstract]
        binder.bind(Outbox, to=FactoryProvider(outbox), scope=injector.SingletonScope)  # type: ignore[type-abstract]
        binder.bind(
            ProjectionStore,  # type: ignore[type-abstract]
            to=FactoryProvider(projection_store),
            scope=injector.SingletonScope,
        )
        binder.bind(UnitOfWork, to=FactoryProvider(build), scope=OperationScope)  # type: ignore[type-abstract]


class _StoreLifetime:
    """Starts with the application: checks the store; stops with it: closes its client."""

    def __init__(self, store: MongoStore) -> None:
        self._store = store

    async def start(self) -> None:
        await self._store.ready()

    async def stop(self) -> None:
        await self._store.close()
