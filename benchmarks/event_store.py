"""What facta's event-sourced aggregates cost against the ``eventsourcing`` library.

The peer is installed in a virtual environment of the benchmarks' own, never in facta's
dependencies. Create it once, from the repository's root::

    python3 -m venv benchmarks/.venv
    benchmarks/.venv/bin/pip install -e '.[sqlalchemy,mongo]' 'eventsourcing[postgres]'

then run ``benchmarks/.venv/bin/python benchmarks/event_store.py`` (``--quick`` for a
run under two minutes, ``--only sqlite|postgresql`` for one database). PostgreSQL is
found at ``postgresql://postgres@127.0.0.1:5432/postgres`` (or
``$FACTA_BENCH_POSTGRES_URL``; user, host and port are given to ``eventsourcing`` too,
with an empty password); each contender works in a scratch database of its own there,
and in a temporary SQLite file of its own, all removed when the run ends.

1. **Appends per second, one event per command.** One client, 100 aggregates
   round-robin; each command loads an aggregate by replaying its stream (no snapshots,
   no cache), records one ``Incremented`` event and commits it. Through facta that is
   ``Mediator.send`` to a ``CommandHandler`` using ``uow.repository(Counter)`` on the
   SQLAlchemy back-end (the commit appends to the stream with the expected version and
   writes the outbox row, in one transaction); through ``eventsourcing`` it is an
   ``Application`` method doing ``repository.get``, the aggregate's ``@event`` method and
   ``save`` (its recorder inserts the stored event with the expected version; on
   PostgreSQL under its ``LOCK TABLE ... EXCLUSIVE``, as facta's append takes an
   advisory lock, both to keep positions in commit order). A third contender, **raw**,
   is the same command hand-written in SQLAlchemy Core on facta's engine: on one
   connection it selects the stream's rows (data as JSON text), validates each event with
   pydantic and sums them, inserts one outbox row and one stream row shaped as facta's
   (after the advisory lock on PostgreSQL) and commits: what facta costs over its own
   driver path. Rounds of the three alternate after a warm-up; each one's best round
   counts. **Target: facta/eventsourcing >= 1.0x.**
   Note: facta runs SQLite in WAL mode with ``synchronous=NORMAL``; ``eventsourcing``
   runs it with its own settings.
2. **Loading an aggregate of 1,000 events**, without a snapshot (replaying all of them)
   and with one (facta: ``snapshot_every = 100``, the latest at version 1,000;
   ``eventsourcing``: ``take_snapshot`` at version 1,000): best time per load.

Figures are measured, never asserted; on a shared machine they are noisy, so compare the
ratios of one run rather than figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
from sqlalchemy import Executable, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

try:
    from eventsourcing.application import Application as EsApplication
    from eventsourcing.domain import Aggregate as EsAggregate
    from eventsourcing.domain import event as es_event
except ImportError:  # pragma: no cover - the benchmark's own environment is missing
    raise SystemExit(
        "this benchmark compares facta with the eventsourcing library, installed in the "
        "benchmarks' own environment:\n"
        "    python3 -m venv benchmarks/.venv\n"
        "    benchmarks/.venv/bin/pip install -e '.[sqlalchemy,mongo]' 'eventsourcing[postgres]'\n"
        "    benchmarks/.venv/bin/python benchmarks/event_store.py --quick"
    ) from None

from _timing import interleaved_best_of
from facta import (
    Application,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEvent,
    EventSourcedAggregate,
    UnitOfWork,
)
from facta.domain import utc_now
from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema
from facta.persistence.sqlalchemy.documents import json_param, json_text
from facta.persistence.sqlalchemy.schema import events, outbox

POSTGRES_URL = os.environ.get(
    "FACTA_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
AGGREGATES = 100
"""How many aggregates the commands go round."""
HISTORY = 1_000
"""Events of the aggregate that the load benchmark loads."""


# --- facta's side ------------------------------------------------------------------------


class Incremented(DomainEvent):
    """A counter went up."""

    amount: int


class Counter(EventSourcedAggregate):
    """facta's event-sourced aggregate: the sum of its increments."""

    count: int = 0

    def increment(self, amount: int) -> None:
        """Record an increment."""
        self.record(Incremented(amount=amount))

    def apply_incremented(self, event: Incremented) -> None:
        self.count += event.amount


class SnapshottedCounter(Counter):
    """The same, with a snapshot every 100 events."""

    snapshot_every: ClassVar[int | None] = 100


class Increment(Command[None]):
    """Add one to a counter."""

    counter_id: str


class IncrementHandler(CommandHandler[Increment, None]):
    """Loads the counter through the unit of work and increments it; the pipeline commits."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.counters = uow.repository(Counter)

    async def handle(self, command: Increment) -> None:
        (await self.counters.get(command.counter_id)).increment(1)


# --- the raw baseline --------------------------------------------------------------------


class RawAppends:
    """The command hand-written in SQLAlchemy Core, writing the rows facta writes."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        dialect = engine.dialect.name
        self._lock: Executable | None = (
            text("SELECT pg_advisory_xact_lock(1)") if dialect == "postgresql" else None
        )
        self._stream = (
            select(events.c.version, json_text(events.c.data))
            .where(
                events.c.stream_type == "RawCounter",
                events.c.stream_id == bindparam("stream_id"),
                events.c.version > 0,
            )
            .order_by(events.c.version)
        )
        self._insert_event = insert(events).values(data=json_param("data", dialect))
        self._insert_outbox = insert(outbox).values(payload=json_param("payload", dialect))

    async def create(self, counter_id: str) -> None:
        """A counter's first event."""
        await self._append(counter_id, 1)

    async def increment(self, counter_id: str) -> None:
        """Load the counter by replaying its rows, then append one event."""
        await self._append(counter_id, None)

    async def _append(self, counter_id: str, version: int | None) -> None:
        async with self._engine.connect() as connection:
            if version is None:
                rows = (await connection.execute(self._stream, {"stream_id": counter_id})).all()
                count = sum(Incremented.model_validate_json(row[1]).amount for row in rows)
                assert count >= 1
                version = int(rows[-1][0]) + 1
            event = Incremented(amount=1, aggregate_id=counter_id, aggregate_version=version)
            payload, now = event.model_dump_json(), utc_now()
            await connection.execute(
                self._insert_outbox,
                {
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "aggregate_id": counter_id,
                    "aggregate_version": version,
                    "correlation_id": None,
                    "causation_id": None,
                    "payload": payload,
                    "recorded_at": now,
                    "available_at": now,
                    "delivered_at": now,
                },
            )
            if self._lock is not None:
                await connection.execute(self._lock)
            await connection.execute(
                self._insert_event,
                {
                    "stream_type": "RawCounter",
                    "stream_id": counter_id,
                    "version": version,
                    "event_id": event.event_id,
                    "event_type": event.event_type,
                    "event_version": 1,
                    "recorded_at": now,
                    "data": payload,
                },
            )
            await connection.commit()


# --- eventsourcing's side ----------------------------------------------------------------


class EsCounter(EsAggregate):
    """The same aggregate in the eventsourcing library."""

    def __init__(self) -> None:
        self.count = 0

    @es_event("Incremented")
    def increment(self, amount: int) -> None:
        self.count += amount


class EsCounters(EsApplication):
    """The eventsourcing application: one method per command."""

    def create(self) -> UUID:
        counter = EsCounter()
        self.save(counter)
        return counter.id  # type: ignore[no-any-return]

    def increment(self, counter_id: UUID) -> None:
        counter: EsCounter = self.repository.get(counter_id)
        counter.increment(amount=1)
        self.save(counter)


# --- scratch databases -------------------------------------------------------------------


async def _postgres_admin(statement: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@asynccontextmanager
async def scratch_database(kind: str) -> AsyncIterator[str]:
    """The URL of a new, empty database of ``kind``, removed when the block ends."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="facta-bench-es-")
        try:
            yield f"sqlite:///{folder}/bench.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"facta_bench_{uuid4().hex[:12]}"
    try:
        await _postgres_admin(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError) as error:
        raise SystemExit(
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({error}): start it, set "
            f"FACTA_BENCH_POSTGRES_URL, or run with --only sqlite"
        ) from error
    try:
        yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def es_environment(url: str) -> dict[str, str]:
    """The eventsourcing settings for the scratch database ``url``."""
    if url.startswith("sqlite:///"):
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": url.removeprefix("sqlite:///"),
        }
    parts = urlsplit(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
    }


def progress(message: str) -> None:
    """Say what the run is doing, on stderr, so that stdout is the table alone."""
    print(message, file=sys.stderr, flush=True)


@asynccontextmanager
async def facta_app(url: str) -> AsyncIterator[tuple[Application, AsyncEngine]]:
    """facta on ``url`` (its tables created) and its engine, disposed of afterwards."""
    engine = create_engine(url)
    try:
        await create_schema(engine)
        app = (
            ApplicationBuilder()
            .add_handler(Counter, SnapshottedCounter, IncrementHandler)
            .use_persistence(SqlAlchemyPersistence(engine=engine))
            .build()
        )
        yield app, engine
    finally:
        await engine.dispose()


# --- 1. appends per second ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendFigures:
    """Best seconds per command of each contender."""

    facta: float
    eventsourcing: float
    raw: float


async def measure_appends(kind: str, rounds: int, commands: int) -> AppendFigures:
    """Interleaved best-of-``rounds`` rounds of ``commands`` commands of each contender."""
    async with scratch_database(kind) as facta_url, scratch_database(kind) as es_url:
        async with facta_app(facta_url) as (app, engine):
            raw = RawAppends(engine)
            for number in range(AGGREGATES):
                await raw.create(f"c-{number}")
            raw_ids = itertools.cycle([f"c-{number}" for number in range(AGGREGATES)])
            async with app.operation():
                uow = app.get(UnitOfWork)  # type: ignore[type-abstract]
                for number in range(AGGREGATES):
                    counter = Counter(id=f"c-{number}")
                    counter.increment(1)
                    uow.repository(Counter).add(counter)
                await uow.commit()
            facta_ids = itertools.cycle(
                [Increment(counter_id=f"c-{number}") for number in range(AGGREGATES)]
            )
            es = EsCounters(env=es_environment(es_url))
            try:
                es_ids = itertools.cycle([es.create() for _ in range(AGGREGATES)])

                async def es_command() -> None:
                    es.increment(next(es_ids))

                bodies: dict[str, Callable[[], Any]] = {
                    "facta": lambda: app.mediator.send(next(facta_ids)),
                    "eventsourcing": es_command,
                    "raw": lambda: raw.increment(next(raw_ids)),
                }
                await interleaved_best_of(1, min(commands, 2 * AGGREGATES), bodies)  # warm-up
                best = await interleaved_best_of(rounds, commands, bodies)
            finally:
                es.close()
    return AppendFigures(best["facta"], best["eventsourcing"], best["raw"])


# --- 2. loading 1,000 events -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoadFigures:
    """Best seconds per load of a 1,000-event aggregate, without and with a snapshot."""

    facta: float
    facta_snapshot: float
    eventsourcing: float
    eventsourcing_snapshot: float


async def measure_loads(kind: str, rounds: int, loads: int) -> LoadFigures:
    """Interleaved best-of-``rounds`` rounds of ``loads`` loads of each contender and way."""
    async with scratch_database(kind) as facta_url, scratch_database(kind) as es_url:
        async with facta_app(facta_url) as (app, _):
            for aggregate_type in (Counter, SnapshottedCounter):
                for chunk in range(HISTORY // 100):  # 100 events a commit: snapshots land
                    async with app.operation():
                        repository = app.get(UnitOfWork).repository(aggregate_type)  # type: ignore[type-abstract]
                        if chunk == 0:
                            counter = aggregate_type(id="long")
                            repository.add(counter)
                        else:
                            counter = await repository.get("long")
                        for _ in range(100):
                            counter.increment(1)
                        await app.get(UnitOfWork).commit()  # type: ignore[type-abstract]

            async def facta_load(aggregate_type: type[Counter]) -> None:
                async with app.operation():
                    loaded = await app.get(UnitOfWork).repository(aggregate_type).get("long")  # type: ignore[type-abstract]
                    assert loaded.count == HISTORY

            environment = es_environment(es_url)
            es = EsCounters(env={**environment, "IS_SNAPSHOTTING_ENABLED": "y"})
            try:
                plain, snapped = EsCounter(), EsCounter()
                for counter in (plain, snapped):
                    for _ in range(HISTORY - 1):  # with its creation: 1,000 events
                        counter.increment(amount=1)
                    es.save(counter)
                es.take_snapshot(snapped.id)

                async def es_plain() -> None:
                    assert es.repository.get(plain.id).count == HISTORY - 1

                async def es_snapped() -> None:
                    assert es.repository.get(snapped.id).count == HISTORY - 1

                best = await interleaved_best_of(
                    rounds,
                    loads,
                    {
                        "facta": lambda: facta_load(Counter),
                        "facta+snapshot": lambda: facta_load(SnapshottedCounter),
                        "eventsourcing": es_plain,
                        "eventsourcing+snapshot": es_snapped,
                    },
                )
            finally:
                es.close()
    return LoadFigures(
        best["facta"], best["facta+snapshot"], best["eventsourcing"], best["eventsourcing+snapshot"]
    )


def verdict(ratio: float, target: float) -> str:
    """``ok`` or ``MISSED`` for a ratio against its target."""
    return "ok" if ratio >= target else "MISSED"


async def main(quick: bool, only: str | None) -> None:
    """Measure on each database in turn, then print the tables."""
    task = asyncio.current_task()
    if task is not None:  # a SIGTERM cancels the run like Ctrl-C: scratch databases go
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    kinds = [only] if only else ["sqlite", "postgresql"]
    rounds, commands = (5, 200) if quick else (7, 1_000)
    load_rounds, loads = (3, 10) if quick else (5, 50)
    appends: dict[str, AppendFigures] = {}
    loading: dict[str, LoadFigures] = {}
    for kind in kinds:
        progress(f"{kind}: {rounds} rounds of {commands:,} commands, facta and eventsourcing")
        appends[kind] = await measure_appends(kind, rounds, commands)
        progress(f"{kind}: loading a {HISTORY:,}-event aggregate, {load_rounds} x {loads}")
        loading[kind] = await measure_loads(kind, load_rounds, loads)

    print(
        f"Appends: one event per command (load by replay + record + commit), one client, "
        f"{AGGREGATES} aggregates round-robin; best of {rounds} rounds of {commands:,}"
    )
    print(
        f"{'database':<12}{'facta ev/s':>12}{'eventsourcing ev/s':>20}{'raw ev/s':>10}"
        f"{'facta us':>10}{'es us':>8}{'raw us':>8}{'facta/raw':>11}{'facta/es':>10}"
        f"  target >= 1.0x"
    )
    for kind, figures in appends.items():
        ratio = figures.eventsourcing / figures.facta
        print(
            f"{kind:<12}{1 / figures.facta:>12,.0f}{1 / figures.eventsourcing:>20,.0f}"
            f"{1 / figures.raw:>10,.0f}{figures.facta * 1e6:>10.0f}"
            f"{figures.eventsourcing * 1e6:>8.0f}{figures.raw * 1e6:>8.0f}"
            f"{figures.raw / figures.facta:>10.2f}x{ratio:>9.2f}x  {verdict(ratio, 1.0)}"
        )
    print()
    print(f"Loads: one aggregate of {HISTORY:,} events; best ms per load of {load_rounds} rounds")
    print(
        f"{'database':<12}{'contender':<15}{'no snapshot ms':>16}{'snapshot ms':>13}"
        f"{'speed-up':>10}{'facta/es':>10}"
    )
    for kind, figures in loading.items():
        rows = [
            ("facta", figures.facta, figures.facta_snapshot),
            ("eventsourcing", figures.eventsourcing, figures.eventsourcing_snapshot),
        ]
        for name, plain, snapped in rows:
            versus = (
                f"{figures.eventsourcing / figures.facta:>9.2f}x"
                if name == "facta"
                else f"{'':>10}"
            )
            print(
                f"{kind:<12}{name:<15}{plain * 1e3:>16.2f}{snapped * 1e3:>13.2f}"
                f"{plain / snapped:>9.1f}x{versus}"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 2 minutes)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    arguments = parser.parse_args()
    try:
        asyncio.run(main(arguments.quick, arguments.only))
    except (KeyboardInterrupt, asyncio.CancelledError):
        sys.exit("interrupted; the scratch databases and files were removed")
