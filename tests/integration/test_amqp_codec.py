"""CloudEvents in AMQP messages (no broker needed): both modes round-trip every attribute,
and whatever is not a valid CloudEvent is refused with ``InvalidCloudEvent`` and a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aio_pika
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facta import InvalidCloudEvent
from facta.integration.amqp import Mode, read_message, to_message
from facta.integration.cloudevents import CloudEvent, to_batch
from integration.amqp_support import order_placed

_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=1)
_data = st.dictionaries(
    st.text(max_size=8), st.none() | st.booleans() | st.integers() | st.text(max_size=8)
)


@st.composite
def cloudevents(draw: st.DrawFn) -> CloudEvent:
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": draw(_text),
        "source": draw(
            st.sampled_from(["/shop/orders", "urn:example:shop", "https://x.example/a"])
        ),
        "type": draw(st.from_regex(r"com\.example\.[a-z]{1,8}\.v[1-9]", fullmatch=True)),
        "datacontenttype": "application/json",
    }
    if draw(st.booleans()):
        attributes["subject"] = draw(_text)
    if draw(st.booleans()):
        moment = draw(st.datetimes(min_value=datetime(2000, 1, 1), timezones=st.just(UTC)))
        attributes["time"] = moment
    extensions = draw(st.dictionaries(st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True), _text))
    for name, value in extensions.items():
        attributes.setdefault(name, value)
    return CloudEvent(attributes, draw(_data))


@pytest.mark.parametrize("mode", ["structured", "binary"])
@settings(max_examples=60, deadline=None)
@given(event=cloudevents())
def test_every_event_round_trips_through_a_message(mode: Mode, event: CloudEvent) -> None:
    message = to_message(event, mode)

    [received] = read_message(message.content_type, message.headers, message.body)

    assert received.get_attributes() == event.get_attributes()
    assert received.get_data() == event.get_data()
    assert message.message_id == event.get_id()
    assert message.type == event.get_type()
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_the_properties_sent_carry_the_message_and_nothing_a_receiver_reads_the_same_without(
    mode: Mode,
) -> None:
    event = CloudEvent(
        {
            "id": "evt-1",
            "source": "/shop/orders",
            "type": "com.example.shop.v1",
            "time": datetime(2026, 1, 2, tzinfo=UTC),
            "datacontenttype": "application/json",
        },
        {"order_id": "o-1"},
    )

    properties = to_message(event, mode).properties

    assert properties.message_id == "evt-1"
    assert properties.message_type == "com.example.shop.v1"
    assert properties.timestamp == datetime(2026, 1, 2, tzinfo=UTC)
    assert properties.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert properties.priority is None  # absent reads as 0
    if mode == "structured":
        assert properties.content_type == "application/cloudevents+json"
        assert properties.headers is None  # no empty table
    else:
        assert properties.content_type == "application/json"
        assert properties.headers is not None
        assert properties.headers["ce-id"] == "evt-1"


def test_a_batch_message_holds_several_events() -> None:
    events = [order_placed("evt-1"), order_placed("evt-2")]

    received = read_message("application/cloudevents-batch+json", {}, to_batch(events))

    assert [event.get_id() for event in received] == ["evt-1", "evt-2"]


def test_the_content_type_may_carry_parameters() -> None:
    message = to_message(order_placed("evt-1"))

    [received] = read_message(f"{message.content_type}; charset=utf-8", {}, message.body)

    assert received.get_id() == "evt-1"


def _binary(**changes: object) -> dict[str, object]:
    headers: dict[str, object] = dict(to_message(order_placed("evt-1"), "binary").headers)
    for name, value in changes.items():
        header = f"ce-{name}"
        if value is None:
            headers.pop(header, None)
        else:
            headers[header] = value
    return headers


@pytest.mark.parametrize(
    ("content_type", "headers", "body", "reason"),
    [
        pytest.param(None, {}, b"{}", "no ce- headers", id="no-headers"),
        pytest.param("application/cloudevents+xml", {}, b"<e/>", "not supported", id="format"),
        pytest.param("application/cloudevents+json", {}, b"\xff", "not JSON", id="not-json"),
        pytest.param(
            "application/json", _binary(source=None), b"{}", "missing required", id="missing"
        ),
        pytest.param("application/json", _binary(specversion="0.3"), b"{}", "1.0", id="version"),
        pytest.param("application/json", _binary(time="yesterday"), b"{}", "RFC 3339", id="time"),
        pytest.param("application/json", _binary(id=["a"]), b"{}", "must be a string", id="list"),
        pytest.param("application/json", _binary(id=b"\xff"), b"{}", "UTF-8", id="bytes"),
        pytest.param(
            "application/json", {**_binary(), "ce-bad_name": "x"}, b"{}", "(?i)extension", id="ext"
        ),
    ],
)
def test_what_is_not_a_cloudevent_is_refused_with_the_reason(
    content_type: str | None, headers: dict[str, object], body: bytes, reason: str
) -> None:
    with pytest.raises(InvalidCloudEvent, match=reason):
        read_message(content_type, headers, body)


def test_binary_headers_of_other_amqp_types_keep_their_cloudevents_type() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    headers = _binary(time=moment, sequence=7, flag=True, subject=bytearray(b"o-1"))

    [event] = read_message("application/json", headers, b"{}")

    attributes = event.get_attributes()
    assert attributes["time"] == moment
    assert (attributes["sequence"], attributes["flag"], attributes["subject"]) == (7, True, "o-1")
