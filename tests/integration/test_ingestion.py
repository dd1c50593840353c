"""Typed ingestion with an inbox: each CloudEvent's effect happens once (guarantee 5), and
bad input is refused with a typed error before anything is written (guarantee 6)."""

from __future__ import annotations

import pytest

from conftest import Backend
from facta import (
    Application,
    ApplicationBuilder,
    Envelope,
    EventHandlingError,
    InvalidEventData,
    UnitOfWork,
    UnknownEventType,
)
from facta.integration.cloudevents import CloudEvent
from support.shop import (
    LOYALTY,
    AwardPoints,
    OrderPlacedV1,
    OrderPlacedV2,
    Points,
)


def loyalty(backend: Backend, *extra: type[object]) -> Application:
    return (
        ApplicationBuilder()
        .add_handler(*LOYALTY, *extra)
        .use_persistence(backend.persistence())
        .build()
    )


def cloudevent(
    event_type: str = OrderPlacedV2.cloudevent_type,
    data: object = None,
    event_id: str = "evt-1",
    source: str = "/shop/orders",
) -> CloudEvent:
    if data is None:
        data = {"order_id": "o-1", "customer": "ann", "total": "12.50", "currency": "EUR"}
    attributes = {"id": event_id, "source": source, "type": event_type, "specversion": "1.0"}
    return CloudEvent({**attributes, "datacontenttype": "application/json"}, data)  # type: ignore[arg-type]


async def points(app: Application, customer: str = "ann") -> Points | None:
    async with app.operation():
        return await app.get(UnitOfWork).repository(Points).find(customer)


async def test_a_handler_receives_the_typed_data_and_its_effect_is_committed(
    backend: Backend,
) -> None:
    app = loyalty(backend)

    result = await app.ingestor.ingest(cloudevent())

    assert result.handled == ("support.shop.AwardPoints",)
    account = await points(app)
    assert account is not None and (account.points, account.orders) == (12, ["o-1"])


async def test_the_same_cloudevent_twice_has_its_effect_once(backend: Backend) -> None:
    app = loyalty(backend)

    await app.ingestor.ingest(cloudevent())
    again = await app.ingestor.ingest(cloudevent())

    assert (again.handled, again.duplicates) == ((), ("support.shop.AwardPoints",))
    account = await points(app)
    assert account is not None and account.orders == ["o-1"]


async def test_the_same_id_from_another_source_is_another_event(backend: Backend) -> None:
    app = loyalty(backend)

    await app.ingestor.ingest(cloudevent(source="/shop/orders"))
    await app.ingestor.ingest(cloudevent(source="/other-shop/orders"))

    account = await points(app)
    assert account is not None and account.orders == ["o-1", "o-1"]


async def test_an_old_version_is_upcast_to_the_one_the_handler_takes(backend: Backend) -> None:
    app = loyalty(backend)
    old = {"order_id": "o-9", "customer": "ann", "total_cents": 3099}

    result = await app.ingestor.ingest(cloudevent(OrderPlacedV1.cloudevent_type, old))

    assert result.event_type == OrderPlacedV2.cloudevent_type
    account = await points(app)
    assert account is not None and (account.points, account.orders) == (30, ["o-9"])


async def test_an_unknown_type_is_refused_naming_what_the_service_accepts(
    backend: Backend,
) -> None:
    app = loyalty(backend)

    with pytest.raises(UnknownEventType) as refused:
        await app.ingestor.ingest(cloudevent("com.example.shop.order.shipped.v1"))

    assert set(refused.value.known) == {
        OrderPlacedV1.cloudevent_type,
        OrderPlacedV2.cloudevent_type,
    }
    assert await points(app) is None


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({"order_id": "o-1", "customer": "ann"}, "total", id="missing-field"),
        pytest.param(
            {"order_id": "o-1", "customer": "ann", "total": "lots", "currency": "EUR"},
            "total",
            id="wrong-type",
        ),
        pytest.param(["not", "an", "object"], "", id="not-an-object"),
        pytest.param("{not json", "", id="not-json"),
    ],
)
async def test_data_that_does_not_fit_the_contract_is_refused_and_writes_nothing(
    backend: Backend, data: object, field: str
) -> None:
    app = loyalty(backend)

    with pytest.raises(InvalidEventData) as refused:
        await app.ingestor.ingest(cloudevent(data=data))

    assert field in " ".join(".".join(map(str, e.location)) for e in refused.value.errors)
    assert await points(app) is None


async def test_a_batch_with_one_bad_event_writes_nothing(backend: Backend) -> None:
    app = loyalty(backend)
    good = cloudevent(event_id="evt-1")
    bad = cloudevent(event_id="evt-2", data={"order_id": "o-2"})

    with pytest.raises(InvalidEventData):
        await app.ingestor.ingest_all([good, bad])

    assert await points(app) is None


class FlakyAward(AwardPoints):
    """Fails the first time it sees each event."""

    seen: set[str] = set()  # noqa: RUF012 - reset by the test

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        await super().handle(data, envelope)
        if envelope.id not in FlakyAward.seen:
            FlakyAward.seen.add(envelope.id)
            raise RuntimeError("the handler crashed after writing")


async def test_a_failing_handler_leaves_nothing_and_succeeds_once_on_redelivery(
    backend: Backend,
) -> None:
    FlakyAward.seen = set()
    app = (
        ApplicationBuilder().add_handler(FlakyAward).use_persistence(backend.persistence()).build()
    )

    with pytest.raises(EventHandlingError, match="the handler crashed"):
        await app.ingestor.ingest(cloudevent())
    assert await points(app) is None

    await app.ingestor.ingest(cloudevent())
    await app.ingestor.ingest(cloudevent())

    account = await points(app)
    assert account is not None and account.orders == ["o-1"]
