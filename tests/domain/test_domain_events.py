"""DomainEvent: immutable facts with metadata filled in by the framework."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar
from uuid import uuid4

import pydantic
import pytest

from facta import AggregateRoot, ConfigurationError, DomainEvent, Timestamp
from facta.domain import METADATA_FIELDS


class ParcelShipped(DomainEvent):
    parcel_id: str
    weight_grams: int


class OrderConfirmed(DomainEvent):
    event_type: ClassVar[str] = "orders.OrderConfirmed.v1"

    order_id: str


class ExpressOrderConfirmed(OrderConfirmed):
    """A subclass of an event that named itself."""


@pytest.fixture
def shipped() -> ParcelShipped:
    return ParcelShipped(parcel_id="p-1", weight_grams=1200)


def test_each_event_gets_its_own_id() -> None:
    ids = {ParcelShipped(parcel_id="p-1", weight_grams=1).event_id for _ in range(100)}

    assert len(ids) == 100


def test_occurred_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    event = ParcelShipped(parcel_id="p-1", weight_grams=1)
    after = datetime.now(UTC)

    assert event.occurred_at.utcoffset() == timedelta(0)
    assert before - timedelta(milliseconds=1) < event.occurred_at <= after


def test_occurred_at_is_kept_to_the_millisecond_so_every_back_end_stores_it_exactly() -> None:
    precise = datetime(2024, 7, 1, 12, 0, 0, 123456, tzinfo=UTC)

    event = ParcelShipped(parcel_id="p-1", weight_grams=1, occurred_at=precise)

    assert event.occurred_at == precise.replace(microsecond=123000)
    assert ParcelShipped(parcel_id="p-1", weight_grams=1).occurred_at.microsecond % 1000 == 0


def test_occurred_at_in_another_time_zone_is_converted_to_utc() -> None:
    paris_summer = timezone(timedelta(hours=2))
    local = datetime(2024, 7, 1, 12, 0, tzinfo=paris_summer)

    event = ParcelShipped(parcel_id="p-1", weight_grams=1, occurred_at=local)

    assert event.occurred_at == local
    assert event.occurred_at.tzinfo == UTC
    assert event.occurred_at.hour == 10


@pytest.mark.parametrize(
    "written",
    ["2024-07-01T10:00:00.123Z", "2024-07-01T10:00:00.123+00:00", "2024-07-01T12:00:00.123+02:00"],
)
def test_occurred_at_read_back_is_in_the_utc_of_datetime(written: str) -> None:
    document = ParcelShipped(parcel_id="p-1", weight_grams=1).model_dump(mode="json")

    event = ParcelShipped.model_validate({**document, "occurred_at": written})

    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at == datetime(2024, 7, 1, 10, 0, 0, 123000, tzinfo=UTC)


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="timezone"):
        ParcelShipped(parcel_id="p-1", weight_grams=1, occurred_at=datetime(2024, 7, 1, 12, 0))


@pytest.mark.parametrize(
    ("event_class", "expected"),
    [
        pytest.param(ParcelShipped, "ParcelShipped", id="defaults-to-the-class-name"),
        pytest.param(OrderConfirmed, "orders.OrderConfirmed.v1", id="overridden-by-a-classvar"),
        pytest.param(
            ExpressOrderConfirmed, "ExpressOrderConfirmed", id="override-is-not-inherited"
        ),
    ],
)
def test_event_type_names_the_event(event_class: type[DomainEvent], expected: str) -> None:
    assert event_class.event_type == expected


def test_event_type_is_not_a_field_of_the_event() -> None:
    event = OrderConfirmed(order_id="o-1")

    assert "event_type" not in event.model_dump()
    assert event.event_type == "orders.OrderConfirmed.v1"


def test_payload_is_the_events_own_fields_without_metadata(shipped: ParcelShipped) -> None:
    stamped = shipped.with_metadata(
        aggregate_id="a-1", aggregate_version=3, correlation_id=uuid4(), causation_id=uuid4()
    )

    assert stamped.payload() == {"parcel_id": "p-1", "weight_grams": 1200}


def test_payload_holds_json_compatible_values() -> None:
    class Scheduled(DomainEvent):
        at: datetime

    event = Scheduled(at=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC))

    assert event.payload() == {"at": "2024-01-02T03:04:05Z"}


def test_metadata_fields_are_exactly_the_fields_every_event_carries() -> None:
    assert set(DomainEvent.model_fields) == METADATA_FIELDS


def test_with_metadata_returns_a_copy_carrying_the_metadata(shipped: ParcelShipped) -> None:
    correlation_id = uuid4()

    stamped = shipped.with_metadata(aggregate_id="a-1", correlation_id=correlation_id)

    assert stamped is not shipped
    assert type(stamped) is ParcelShipped
    assert stamped.aggregate_id == "a-1"
    assert stamped.correlation_id == correlation_id
    assert stamped.event_id == shipped.event_id
    assert stamped.payload() == shipped.payload()


def test_with_metadata_leaves_the_original_event_untouched(shipped: ParcelShipped) -> None:
    shipped.with_metadata(aggregate_id="a-1", aggregate_version=2)

    assert shipped.aggregate_id == ""
    assert shipped.aggregate_version == 0


def test_a_copy_made_by_with_metadata_is_still_frozen(shipped: ParcelShipped) -> None:
    stamped = shipped.with_metadata(aggregate_id="a-1")

    with pytest.raises(pydantic.ValidationError):
        stamped.weight_grams = 1  # type: ignore[misc]


def test_a_copy_made_by_with_metadata_serializes_its_metadata(shipped: ParcelShipped) -> None:
    stamped = shipped.with_metadata(aggregate_id="a-1", aggregate_version=2)

    restored = ParcelShipped.model_validate_json(stamped.model_dump_json())

    assert restored == stamped


def test_a_copy_made_by_with_metadata_counts_the_metadata_as_set(shipped: ParcelShipped) -> None:
    stamped = shipped.with_metadata(aggregate_id="a-1", aggregate_version=2)

    assert stamped.model_fields_set == {
        "parcel_id",
        "weight_grams",
        "aggregate_id",
        "aggregate_version",
    }
    assert stamped.model_dump(exclude_unset=True)["aggregate_id"] == "a-1"
    assert shipped.model_fields_set == {"parcel_id", "weight_grams"}


def test_copies_made_in_different_shapes_count_their_own_fields_as_set() -> None:
    given = ParcelShipped(parcel_id="p-1", weight_grams=1, aggregate_id="x")
    plain = ParcelShipped(parcel_id="p-2", weight_grams=2)

    assert given.with_metadata(aggregate_version=1).model_fields_set == {
        "parcel_id",
        "weight_grams",
        "aggregate_id",
        "aggregate_version",
    }
    assert plain.with_metadata(aggregate_version=1).model_fields_set == {
        "parcel_id",
        "weight_grams",
        "aggregate_version",
    }
    assert plain.with_metadata(aggregate_id="a").model_fields_set == {
        "parcel_id",
        "weight_grams",
        "aggregate_id",
    }


def test_a_model_copy_of_a_stamped_event_changes_no_other_copy(shipped: ParcelShipped) -> None:
    first = shipped.with_metadata(aggregate_id="a-1")
    second = shipped.with_metadata(aggregate_id="a-2")

    updated = first.model_copy(update={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})

    assert "traceparent" in updated.model_fields_set
    assert "traceparent" not in first.model_fields_set
    assert "traceparent" not in second.model_fields_set


class DraftParcelShipped(ParcelShipped):
    """An event class that is not frozen: assignment adds to its own fields set."""

    model_config = pydantic.ConfigDict(frozen=False)


def test_an_assignment_to_a_copy_of_an_unfrozen_event_changes_no_other_copy() -> None:
    draft = DraftParcelShipped(parcel_id="p-1", weight_grams=1)
    first = draft.with_metadata(aggregate_id="a-1")
    second = draft.with_metadata(aggregate_id="a-2")

    first.causation_id = None

    assert "causation_id" in first.model_fields_set
    assert second.model_fields_set == {"parcel_id", "weight_grams", "aggregate_id"}


class TrackedParcelShipped(ParcelShipped):
    _courier_note: str = pydantic.PrivateAttr(default="fragile")


def test_a_copy_made_by_with_metadata_keeps_the_private_attributes() -> None:
    event = TrackedParcelShipped(parcel_id="p-1", weight_grams=1)
    event._courier_note = "leave at the door"

    stamped = event.with_metadata(aggregate_id="a-1")

    assert stamped._courier_note == "leave at the door"


def test_an_event_recorded_by_an_aggregate_keeps_its_private_attributes() -> None:
    class Parcel(AggregateRoot):
        pass

    recorded = Parcel(id="p-1").record(TrackedParcelShipped(parcel_id="p-1", weight_grams=1))

    assert recorded._courier_note == "fragile"


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        pytest.param({"weight_grams": 5}, "'weight_grams' is not a metadata field", id="payload"),
        pytest.param({"colour": "red"}, "'colour' is not a metadata field", id="unknown"),
        pytest.param({"aggregate_id": 7}, "for aggregate_id: it must be a str", id="id-int"),
        pytest.param({"aggregate_version": -1}, "an int >= 0", id="negative-version"),
        pytest.param({"aggregate_version": "2"}, "an int >= 0", id="version-str"),
        pytest.param({"correlation_id": "not-a-uuid"}, "a UUID or None", id="correlation-str"),
        pytest.param({"event_id": None}, "for event_id: it must be a UUID", id="event-id-none"),
        pytest.param(
            {"occurred_at": datetime(2024, 1, 1)}, "timezone-aware", id="naive-occurred-at"
        ),
    ],
)
def test_with_metadata_refuses_what_would_not_read_back(
    shipped: ParcelShipped, metadata: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        shipped.with_metadata(**metadata)


def test_with_metadata_keeps_occurred_at_in_utc_to_the_millisecond(
    shipped: ParcelShipped,
) -> None:
    paris = timezone(timedelta(hours=1))

    stamped = shipped.with_metadata(occurred_at=datetime(2024, 1, 1, 13, 0, 0, 123456, paris))

    assert stamped.occurred_at == datetime(2024, 1, 1, 12, 0, 0, 123000, UTC)
    assert ParcelShipped.model_validate_json(stamped.model_dump_json()) == stamped


@pytest.mark.parametrize(
    "field",
    [
        pytest.param("weight_grams", id="payload"),
        pytest.param("aggregate_id", id="metadata"),
    ],
)
def test_events_are_frozen(shipped: ParcelShipped, field: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        setattr(shipped, field, 1)


def test_an_unknown_field_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        ParcelShipped(parcel_id="p-1", weight_grams=1, colour="red")  # type: ignore[call-arg]


def test_a_negative_aggregate_version_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        ParcelShipped(parcel_id="p-1", weight_grams=1, aggregate_version=-1)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        pytest.param(
            datetime(2025, 6, 1, 19, 30, tzinfo=UTC), "2025-06-01T19:30:00.000Z", id="whole"
        ),
        pytest.param(
            datetime(2025, 6, 1, 19, 30, 5, 123456, tzinfo=UTC),
            "2025-06-01T19:30:05.123Z",
            id="micro",
        ),
        pytest.param(
            datetime(2025, 6, 1, 21, 30, tzinfo=timezone(timedelta(hours=2))),
            "2025-06-01T19:30:00.000Z",
            id="offset",
        ),
    ],
)
def test_an_events_time_is_written_in_utc_to_the_millisecond_fixed_width(
    moment: datetime, text: str
) -> None:
    event = ParcelShipped(parcel_id="p-1", weight_grams=1, occurred_at=moment)

    written = event.model_dump(mode="json")["occurred_at"]

    assert written == text
    assert ParcelShipped.model_validate_json(event.model_dump_json()) == event


def test_a_timestamp_field_is_written_to_the_millisecond() -> None:
    class Delivered(DomainEvent):
        at: Timestamp

    event = Delivered(at=datetime(2025, 6, 1, 19, 30, tzinfo=UTC))

    assert event.payload() == {"at": "2025-06-01T19:30:00.000Z"}
