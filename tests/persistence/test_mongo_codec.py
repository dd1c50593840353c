"""Types survive a round trip through MongoDB: Decimal (Decimal128), UUID (standard binary),
aware datetimes (in UTC, to the millisecond), enums, nested value objects, and the rest of
what pydantic models hold; what BSON cannot hold is refused before anything is written."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, cast
from uuid import UUID, uuid4

import pytest
from bson.binary import Binary, UuidRepresentation
from bson.codec_options import CodecOptions
from bson.decimal128 import Decimal128
from pydantic import AwareDatetime, Field

from conftest import Backend
from facta import (
    AggregateRoot,
    ApplicationBuilder,
    DomainEvent,
    DomainEventHandler,
    OutboxRelay,
    PersistenceError,
    UnitOfWork,
    ValueObject,
)
from facta.persistence import DeliverySettings, RetryPolicy
from facta.persistence.mongo import MongoPersistence, MongoStore, to_document
from facta.persistence.mongo.codec import to_bson, truncate_to_millisecond


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 3


class Topping(enum.StrEnum):
    BASIL = "basil"
    OLIVES = "olives"


class Money(ValueObject):
    amount: Decimal
    currency: str


class Line(ValueObject):
    sku: UUID
    price: Money
    size: Size
    toppings: tuple[Topping, ...] = ()


class Basket(AggregateRoot):
    total: Money
    token: UUID
    placed_at: AwareDatetime
    baked_at: datetime | None = None  # naive: kept exactly
    colour: Colour
    lines: list[Line]
    by_sku: dict[UUID, Money] = Field(default_factory=dict)
    counts: dict[Size, int] = Field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    pair: tuple[int, str] = (0, "")
    day: date
    wait: timedelta
    blob: bytes = b""
    note: str | None = None
    precise: Decimal = Decimal(0)
    scores: set[float] = Field(default_factory=set)
    raw: dict[str, Any] = Field(default_factory=dict)


PARIS = timezone(timedelta(hours=2))


def basket(basket_id: str = "b-1") -> Basket:
    sku = uuid4()
    return Basket(
        id=basket_id,
        total=Money(amount=Decimal("12.50"), currency="EUR"),
        token=uuid4(),
        placed_at=datetime(2024, 5, 17, 20, 15, 30, 123456, tzinfo=PARIS),
        baked_at=datetime(2024, 5, 17, 20, 31, 2, 987654),
        colour=Colour.BLUE,
        lines=[
            Line(
                sku=sku,
                price=Money(amount=Decimal("6.25"), currency="EUR"),
                size=Size.LARGE,
                toppings=(Topping.BASIL, Topping.OLIVES),
            )
        ],
        by_sku={sku: Money(amount=Decimal("-0.00"), currency="EUR")},
        counts={Size.SMALL: 2},
        tags=frozenset({"veg", "hot"}),
        pair=(7, "seven"),
        day=date(2024, 5, 17),
        wait=timedelta(minutes=15, microseconds=5),
        blob=b"\x00bytes",
        precise=Decimal("1234567890.123456789012345678901234"),  # 34 digits
        scores={0.5, 1e-300},
        raw={"$ne": 1, "a.b": {"$where": "sleep(1000)"}},
    )


async def load(app: Any, basket_id: str = "b-1") -> Basket:
    async with app.operation():
        return await app.get(UnitOfWork).repository(Basket).get(basket_id)


def app_on(backend: Backend) -> Any:
    return ApplicationBuilder().use_persistence(backend.persistence()).build()


def store_of(backend: Backend) -> MongoStore:
    return cast(MongoPersistence, backend.persistence()).store()


async def test_every_field_survives_a_round_trip_but_microseconds_of_aware_datetimes(
    mongo: Backend,
) -> None:
    app = app_on(mongo)
    written = basket()
    async with app.operation():
        app.get(UnitOfWork).repository(Basket).add(written)
        await app.get(UnitOfWork).commit()

    loaded = await load(app)

    assert loaded.placed_at == datetime(2024, 5, 17, 18, 15, 30, 123000, tzinfo=UTC)
    assert loaded.placed_at.tzinfo is UTC
    expected = written.model_copy(update={"placed_at": truncate_to_millisecond(written.placed_at)})
    assert loaded.model_dump() == expected.model_dump()
    assert loaded.baked_at == written.baked_at and loaded.baked_at.tzinfo is None  # type: ignore[union-attr]
    assert loaded.precise.as_tuple() == written.precise.as_tuple()  # digits and exponent
    assert str(loaded.by_sku[written.lines[0].sku].amount) == "-0.00"
    assert isinstance(loaded.colour, Colour) and isinstance(loaded.lines[0].size, Size)
    assert loaded.version == 1


async def test_values_are_stored_as_native_bson_types(mongo: Backend) -> None:
    app = app_on(mongo)
    written = basket()
    async with app.operation():
        app.get(UnitOfWork).repository(Basket).add(written)
        await app.get(UnitOfWork).commit()

    store = store_of(mongo)
    raw_options: CodecOptions[dict[str, Any]] = CodecOptions(
        uuid_representation=UuidRepresentation.UNSPECIFIED
    )
    collection = store.client.get_database(store.database_name, codec_options=raw_options)[
        "facta_aggregates"
    ]
    document = await collection.find_one({"type": "Basket", "id": "b-1"})

    assert document is not None
    assert set(document) == {"_id", "type", "id", "version", "state", "updated_at"}
    state = document["state"]
    assert state["total"] == {"amount": Decimal128("12.50"), "currency": "EUR"}
    assert state["token"] == Binary(written.token.bytes, 4)  # UUID, standard representation
    assert state["placed_at"] == datetime(2024, 5, 17, 18, 15, 30, 123000)  # a BSON date (UTC)
    assert state["colour"] == "blue" and state["lines"][0]["size"] == 3
    assert state["lines"][0]["toppings"] == ["basil", "olives"]
    assert state["counts"] == {"1": 2}
    assert state["raw"] == {"$ne": 1, "a.b": {"$where": "sleep(1000)"}}  # data, never a query


async def test_an_event_read_back_from_the_outbox_keeps_its_types(mongo: Backend) -> None:
    class Priced(DomainEvent):
        total: Decimal
        colour: Colour
        line: Line
        when: AwareDatetime

    class Till(AggregateRoot):
        def price(self, line: Line) -> None:
            self.record(
                Priced(
                    total=Decimal("0.10") + Decimal("0.20"),
                    colour=Colour.RED,
                    line=line,
                    when=datetime(2024, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
                )
            )

    seen: list[Priced] = []

    class Flaky(DomainEventHandler[Priced]):
        async def handle(self, event: Priced) -> None:
            seen.append(event)
            if len(seen) == 1:
                raise RuntimeError("down the first time")

    settings = DeliverySettings(
        retry=RetryPolicy(first_delay=timedelta(0), jitter=0), grace=timedelta(0)
    )
    app = (
        ApplicationBuilder()
        .add_handler(Flaky)
        .use_persistence(mongo.persistence())
        .delivery(settings)
        .add_service(OutboxRelay)
        .build()
    )
    line = Line(sku=uuid4(), price=Money(amount=Decimal("3.3"), currency="EUR"), size=Size.SMALL)
    async with app.operation():
        till = Till(id="t")
        till.price(line)
        app.get(UnitOfWork).repository(Till).add(till)
        await app.get(UnitOfWork).commit()

    assert await app.get(OutboxRelay).drain() == 1

    first, relayed = seen
    assert relayed.event_id == first.event_id
    assert relayed.total == Decimal("0.30") and str(relayed.total) == "0.30"
    assert (relayed.colour, relayed.line) == (Colour.RED, line)
    # stored to the millisecond, like every aware datetime (see facta.persistence.mongo.codec)
    assert relayed.when == truncate_to_millisecond(first.when)
    assert relayed.model_dump(exclude={"when"}) == first.model_dump(exclude={"when"})
    assert relayed.occurred_at == first.occurred_at  # recorded to the millisecond


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(Decimal("1." + "1" * 40), "Decimal128", id="decimal-with-41-digits"),
        pytest.param(2**70, "64 bits", id="int-beyond-64-bits"),
    ],
)
async def test_a_value_mongodb_cannot_hold_is_refused_and_nothing_is_written(
    mongo: Backend, value: object, reason: str
) -> None:
    class Ledger(AggregateRoot):
        entries: list[Any]

    app = app_on(mongo)
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Ledger).add(Ledger(id="l", entries=[1, value]))
        with pytest.raises(
            PersistenceError, match=rf"store Ledger\.entries\[1\] in MongoDB.*{reason}"
        ):
            await uow.commit()

    async with app.operation():
        assert await app.get(UnitOfWork).repository(Ledger).find("l") is None


def test_the_codec_turns_values_into_bson_types_without_a_server() -> None:
    moment = datetime(2024, 1, 1, 12, 0, 0, 999999, tzinfo=PARIS)
    assert to_bson(moment) == datetime(2024, 1, 1, 10, 0, 0, 999000, tzinfo=UTC)
    assert to_bson(Decimal("NaN")) == Decimal128("NaN")
    assert to_bson({Colour.RED: {Size.LARGE}}) == {"red": [3]}
    assert to_bson(date(2024, 2, 29)) == "2024-02-29"
    assert to_document(Money(amount=Decimal("1.10"), currency="EUR")) == {
        "amount": Decimal128("1.10"),
        "currency": "EUR",
    }


def test_facta_reads_and_writes_with_codec_options_of_its_own() -> None:
    # facta's own handle sets them: aware UTC datetimes, standard UUIDs, Decimal for Decimal128
    from facta.persistence.mongo import CODEC_OPTIONS

    assert CODEC_OPTIONS.tz_aware and CODEC_OPTIONS.tzinfo is UTC
    assert CODEC_OPTIONS.uuid_representation == UuidRepresentation.STANDARD
