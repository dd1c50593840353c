"""facta's database on MongoDB: its collections and indexes, transactions, start-up checks.

```
facta_aggregates   {type, id, version, state, updated_at}        unique on (type, id)
facta_outbox       {_id: event id, position, event_type, aggregate_id, aggregate_version,
                    correlation_id, causation_id, payload, recorded_at, available_at,
                    locked_until, claim, delivered_at}           due events; delivered_at
facta_deliveries   {event_id, handler, status, attempts, last_error, next_attempt_at,
                    updated_at}                                  unique on (event_id, handler)
facta_counters     {_id: "outbox" | "events", value}             the last outbox / event position
facta_events       the streams of event-sourced aggregates (see ``event_store``)
facta_snapshots    their snapshots
facta_projections  {_id: projection name, state, updated_at}     paused projections
facta_prunes       {_id: "outbox", events, last_pruned_at}       what Outbox.prune deleted
facta_view_<name>  {_id: view id, _version, fields...}           see ``views``
```

A commit is one multi-document transaction, which MongoDB runs on a replica set (one node
is enough) or a sharded cluster only. The first use of a ``MongoStore`` checks that (a
standalone server is refused with ``ConfigurationError``) and creates the indexes facta
relies on: the unique ones are what makes an insert of an existing aggregate, or a
second receipt, fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.errors import PyMongoError
from pymongo.write_concern import WriteConcern

from facta.errors import ConfigurationError, PersistenceError
from facta.persistence.mongo.driver import Collection, MongoClient, Session, driver_for

__all__ = [
    "AGGREGATES",
    "COUNTERS",
    "DELIVERIES",
    "EVENTS",
    "INDEXES",
    "OUTBOX",
    "PROJECTIONS",
    "PRUNES",
    "SNAPSHOTS",
    "MongoStore",
]

T = TypeVar("T")

AGGREGATES: Final = "facta_aggregates"
OUTBOX: Final = "facta_outbox"
DELIVERIES: Final = "facta_deliveries"
COUNTERS: Final = "facta_counters"
EVENTS: Final = "facta_events"
SNAPSHOTS: Final = "facta_snapshots"
PROJECTIONS: Final = "facta_projections"
PRUNES: Final = "facta_prunes"

INDEXES: Final = {
    AGGREGATES: [
        IndexModel(
            [("type", ASCENDING), ("id", ASCENDING)], name="facta_aggregates_key", unique=True
        )
    ],
    OUTBOX: [
        # the relay asks only for undelivered events: a partial index stays small
        IndexModel(
            [("available_at", ASCENDING), ("position", ASCENDING)],
            name="facta_outbox_due",
            partialFilterExpression={"delivered_at": None},
        ),
        IndexModel([("delivered_at", ASCENDING)], name="facta_outbox_delivered"),
        # a projection asks whether an earlier event of an aggregate is undelivered
        IndexModel(
            [("aggregate_id", ASCENDING), ("aggregate_version", ASCENDING)],
            name="facta_outbox_aggregate",
            partialFilterExpression={"delivered_at": None},
        ),
        # a rebuild replays events in commit order
        IndexModel([("position", ASCENDING)], name="facta_outbox_position"),
    ],
    DELIVERIES: [
        IndexModel(
            [("event_id", ASCENDING), ("handler", ASCENDING)],
            name="facta_deliveries_key",
            unique=True,
        ),
        IndexModel(
            [("status", ASCENDING), ("updated_at", DESCENDING)], name="facta_deliveries_status"
        ),
    ],
    EVENTS: [
        # a second writer of one stream version fails on this key (ConcurrencyError)
        IndexModel(
            [("stream_type", ASCENDING), ("stream_id", ASCENDING), ("version", ASCENDING)],
            name="facta_events_stream",
            unique=True,
        ),
        IndexModel([("position", ASCENDING)], name="facta_events_position", unique=True),
        IndexModel([("event_type", ASCENDING), ("position", ASCENDING)], name="facta_events_type"),
    ],
    SNAPSHOTS: [
        IndexModel(
            [("stream_type", ASCENDING), ("stream_id", ASCENDING), ("version", ASCENDING)],
            name="facta_snapshots_stream",
            unique=True,
        )
    ],
}
"""Every index facta needs, by collection."""

LOST_GUARANTEES: Final = (
    "state and events are no longer committed together (an error or a crash during a "
    "commit can store some aggregates of it and not others, or state without its events); "
    "a handler's receipt is no longer committed with the handler's writes (a handler may "
    "run twice for one event). Each aggregate's version check still holds"
)

_log = logging.getLogger("facta.persistence.mongo")


class MongoStore:
    """facta's collections in one database of one client, and how to write them atomically.

    ``transactions=False`` is for a standalone server you cannot turn into a replica set
    (a one-node set is enough); facta then warns which guarantees it cannot keep.
    ``create_indexes=False`` checks at start that the indexes exist instead of creating
    them (for a database user without the right to create indexes).
    """

    def __init__(
        self,
        client: MongoClient,
        database: str,
        *,
        transactions: bool = True,
        create_indexes: bool = True,
        conflict_timeout: float = 10.0,
        owns_client: bool = False,
    ) -> None:
        self._driver = driver_for(client, database)
        self.client = client
        self.transactions = transactions
        self._create_indexes = create_indexes
        self._conflict_timeout = conflict_timeout
        self._owns_client = owns_client
        database_handle = self._driver.database
        self.database_name = database_handle.name
        self.aggregates = self._driver.collection(AGGREGATES)
        self.outbox = self._driver.collection(OUTBOX)
        self.deliveries = self._driver.collection(DELIVERIES)
        self.events = self._driver.collection(EVENTS)
        self.snapshots = self._driver.collection(SNAPSHOTS)
        self.receipts = self._driver.collection(DELIVERIES, WriteConcern(w=1))
        # a lost increment (a failover) could only repeat a position, which orders, not
        # identifies: no need to wait for the journal on every commit
        self.counters = self._driver.collection(COUNTERS, WriteConcern(w=1))
        self._ready = False
        self._lock = asyncio.Lock()
        if not transactions:
            _log.warning(
                "MongoDB without transactions (transactions=False) on database %r: %s",
                self.database_name,
                LOST_GUARANTEES,
            )

    @property
    def creates_indexes(self) -> bool:
        """Whether facta creates the indexes it needs (or only checks that they exist)."""
        return self._create_indexes

    @property
    def driver(self) -> str:
        """``"pymongo"`` or ``"motor"``."""
        return self._driver.name

    def collection(self, name: str) -> Collection:
        """A collection of facta's database, read and written with facta's codec options."""
        return self._driver.collection(name)

    async def ready(self) -> None:
        """Check the server and the indexes once; later calls return at once."""
        if self._ready:
            return
        async with self._lock:
            if not self._ready:
                await self.check_server()
                if self._create_indexes:
                    await self.ensure_indexes()
                else:
                    await self.check_indexes()
                self._ready = True

    async def check_server(self) -> None:
        """Refuse a server that cannot run facta's transactions, unless they are off."""
        try:
            hello = await self._driver.database.command("hello")
        except PyMongoError as error:
            raise PersistenceError(f"cannot reach MongoDB: {error}") from error
        if hello.get("setName") or hello.get("msg") == "isdbgrid":
            if self.transactions and int(hello.get("maxWireVersion", 0)) < 8:
                raise ConfigurationError(
                    "facta needs MongoDB 4.2 or later for its multi-document transactions"
                )
            return
        if self.transactions:
            raise ConfigurationError(
                "this MongoDB server is standalone: facta commits state and events in one "
                "multi-document transaction, which MongoDB runs only on a replica set or a "
                "sharded cluster. Start mongod with --replSet rs0 and run rs.initiate() "
                "once (a one-node replica set is enough), then connect with "
                "?replicaSet=rs0; or, knowing what is lost, pass transactions=False to "
                f"MongoPersistence: {LOST_GUARANTEES}"
            )

    async def ensure_indexes(self) -> None:
        """Create facta's collections' indexes where they are missing; idempotent."""
        try:
            for name, indexes in INDEXES.items():
                await self.collection(name).create_indexes(indexes)
        except PyMongoError as error:
            raise PersistenceError(f"cannot create facta's MongoDB indexes: {error}") from error

    async def check_indexes(self) -> None:
        """Refuse to start when one of facta's indexes is missing."""
        missing: list[str] = []
        for name, indexes in INDEXES.items():
            try:
                present = await self.collection(name).index_information()
            except PyMongoError as error:
                raise PersistenceError(f"cannot list the indexes of {name}: {error}") from error
            missing += [
                f"{name}.{index.document['name']}"
                for index in indexes
                if index.document["name"] not in present
            ]
        if missing:
            raise ConfigurationError(
                f"the MongoDB database {self.database_name!r} lacks facta's indexes "
                f"{', '.join(missing)}: create them with `await ensure_indexes(...)` as a user "
                f"allowed to, or let MongoPersistence create them (create_indexes=True)"
            )

    async def reserve_positions(self, count: int) -> int:
        """The first of ``count`` new outbox positions (kept in order, outside any transaction,
        so that concurrent commits do not conflict on the counter)."""
        counter = await self.counters.find_one_and_update(
            {"_id": "outbox"},
            {"$inc": {"value": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        return int(counter["value"]) - count + 1

    async def transaction(self, work: Callable[[Session | None], Awaitable[T]]) -> T:
        """Run ``work`` in a transaction and commit it; without transactions, just run it.

        A transaction that conflicts with another one (MongoDB's ``TransientTransactionError``,
        a write conflict) is rolled back and run again, after a short random backoff, until
        ``conflict_timeout`` seconds have passed; then the conflict is raised.
        """
        if not self.transactions:
            return await work(None)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._conflict_timeout
        backoff = 0.002
        while True:
            session = await self._driver.begin()
            try:
                result = await work(session)
                await commit_transaction(session)
                return result
            except BaseException as error:
                await abort(session)
                if not is_transient(error) or loop.time() >= deadline:
                    raise
            finally:
                await session.end_session()
            await asyncio.sleep(backoff * (0.5 + random.random()))
            backoff = min(backoff * 2, 0.1)

    async def close(self) -> None:
        """Close the client if this store made it (from a URL); yours stays open."""
        if self._owns_client:
            await self._driver.close()

    async def begin(self) -> Session:
        """A session with a transaction started, for a unit of work's own writes."""
        return await self._driver.begin()


def is_transient(error: BaseException) -> bool:
    """Whether MongoDB says running the whole transaction again may succeed."""
    return isinstance(error, PyMongoError) and error.has_error_label("TransientTransactionError")


async def commit_transaction(session: Session) -> None:
    """Commit, retrying while MongoDB cannot tell whether the commit happened."""
    for attempt in range(3):
        try:
            await session.commit_transaction()
            return
        except PyMongoError as error:
            if attempt == 2 or not error.has_error_label("UnknownTransactionCommitResult"):
                raise


async def abort(session: Session) -> None:
    """Abort the transaction if one is open (one that committed, or that a server that went
    away aborted already, is left as it is)."""
    with contextlib.suppress(PyMongoError):  # InvalidOperation: no transaction is open
        await session.abort_transaction()
