"""Writing CloudEvents: facta's faster writer and builder give exactly what the SDK gives.

``EventFormat`` writes the JSON event format without the SDK's per-event encoder, and
``build_cloudevent`` makes events without the SDK's per-event check of parts that are
valid by construction. Both are held here to the SDK itself, for any event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from cloudevents.core.exceptions import CloudEventValidationError
from cloudevents.core.formats.json import JSONFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from facta import DomainEvent, IntegrationEvent
from facta.integration.cloudevents import JSON_FORMAT, CloudEvent, build_cloudevent

SDK_FORMAT = JSONFormat()

names = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=20)
texts = st.text(min_size=1, max_size=30)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | moments,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@st.composite
def sdk_events(draw: st.DrawFn) -> CloudEvent:
    """Any CloudEvent 1.0 the SDK constructs: optional attributes, extensions, data."""
    attributes: dict[str, Any] = {
        "id": draw(texts),
        "source": draw(texts),
        "type": draw(texts),
        "time": draw(moments),
    }
    for name in ("subject", "dataschema"):
        if draw(st.booleans()):
            attributes[name] = draw(texts)
    content_type = draw(
        st.sampled_from(
            [None, "application/json", "text/json", "application/vnd.x+json", "text/plain"]
        )
    )
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    for name in draw(st.lists(names.filter(lambda n: n != "data"), max_size=3)):
        attributes.setdefault(name, draw(texts | st.integers() | st.booleans()))
    data = draw(
        st.none()
        | st.dictionaries(st.text(), json_values, max_size=4)
        | st.text()
        | st.binary(max_size=20)
    )
    return CloudEvent(attributes, data)


@given(event=sdk_events())
@settings(max_examples=300)
def test_the_json_format_writes_any_event_in_the_bytes_the_sdk_writes(event: CloudEvent) -> None:
    assert JSON_FORMAT.write(event) == SDK_FORMAT.write(event)


class ThingChanged(DomainEvent):
    name: str
    when: datetime


class ThingChangedV1(IntegrationEvent):
    cloudevent_type: ClassVar[str] = "com.example.thing.changed.v1"
    name: str
    when: datetime


def changed(**metadata: Any) -> ThingChanged:
    event = ThingChanged(name="a \u00e9 \U0001f355", when=datetime(2026, 1, 2, tzinfo=UTC))
    return event.with_metadata(**metadata) if metadata else event


@given(
    aggregate_id=st.text(max_size=10),
    version=st.integers(min_value=0, max_value=10**9),
    correlation_id=st.none() | st.uuids(),
    causation_id=st.none() | st.uuids(),
    traceparent=st.none() | st.text(max_size=10),
    dataschema=st.none() | texts,
)
def test_every_built_event_passes_the_sdks_check_and_writes_as_the_sdk_writes_it(
    aggregate_id: str,
    version: int,
    correlation_id: UUID | None,
    causation_id: UUID | None,
    traceparent: str | None,
    dataschema: str | None,
) -> None:
    event = changed(
        aggregate_id=aggregate_id,
        aggregate_version=version,
        correlation_id=correlation_id,
        causation_id=causation_id,
        traceparent=traceparent,
    )
    data = ThingChangedV1(name=event.name, when=event.when)

    built = build_cloudevent("/things", data, event, dataschema)
    checked = CloudEvent(dict(built.get_attributes()), built.get_data())  # the SDK's check

    assert checked.get_attributes() == built.get_attributes()
    assert JSON_FORMAT.write(built) == SDK_FORMAT.write(checked)


@pytest.mark.parametrize(
    ("source", "cloudevent_type", "dataschema"),
    [
        pytest.param("", "com.example.thing.changed.v1", None, id="empty-source"),
        pytest.param(7, "com.example.thing.changed.v1", None, id="source-not-text"),
        pytest.param("/things", "", None, id="no-type"),
        pytest.param("/things", "com.example.thing.changed.v1", 5, id="dataschema-not-text"),
    ],
)
def test_a_built_event_with_a_bad_part_is_refused_by_the_sdk(
    source: Any, cloudevent_type: str, dataschema: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ThingChangedV1, "cloudevent_type", cloudevent_type)
    data = ThingChangedV1(name="x", when=datetime(2026, 1, 2, tzinfo=UTC))

    with pytest.raises(CloudEventValidationError):
        build_cloudevent(source, data, changed(), dataschema)


def test_a_built_event_keeps_the_domain_events_id_time_and_ids_as_text() -> None:
    correlation = uuid4()
    event = changed(aggregate_id="thing-1", aggregate_version=3, correlation_id=correlation)

    built = build_cloudevent("/things", ThingChangedV1(name="x", when=event.when), event)

    assert built.get_id() == str(event.event_id)
    assert built.get_time() == event.occurred_at
    assert built.get_subject() == "thing-1"
    assert built.get_extension("sequence") == "00000000000000000003"
    assert built.get_extension("correlationid") == str(correlation)
    assert isinstance(built, CloudEvent)
