"""Reading CloudEvents: whatever arrives is an event or an ``InvalidCloudEvent`` with a
reason, never another exception (guarantee 6 at the codec)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facta import InvalidCloudEvent
from facta.integration.cloudevents import (
    CloudEvent,
    read_batch,
    read_http,
    read_structured,
    to_batch,
    to_binary_http,
    to_structured,
)

VALID = {
    "specversion": "1.0",
    "id": "evt-1",
    "source": "/shop/orders",
    "type": "com.example.shop.order.placed.v1",
    "time": "2026-11-22T10:00:00Z",
    "datacontenttype": "application/json",
    "data": {"order_id": "o-1"},
}


def event() -> CloudEvent:
    return read_structured(json.dumps(VALID))


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param({**VALID, "specversion": "0.3"}, "specversion", id="old-specversion"),
        pytest.param({k: v for k, v in VALID.items() if k != "id"}, "id", id="no-id"),
        pytest.param({**VALID, "source": ""}, "source", id="empty-source"),
        pytest.param({**VALID, "type": 7}, "type", id="type-not-a-string"),
        pytest.param({**VALID, "time": "yesterday"}, "time", id="bad-time"),
        pytest.param({**VALID, "data_base64": "eA=="}, "data_base64", id="data-and-base64"),
        pytest.param({**VALID, "BadName": "x"}, "BadName", id="uppercase-extension"),
        pytest.param({**VALID, "waytoolongextensionname": "x"}, "20", id="long-extension"),
    ],
)
def test_a_structured_event_that_breaks_the_spec_is_refused_with_the_reason(
    document: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidCloudEvent, match=reason):
        read_structured(json.dumps(document))


def test_structured_binary_and_batch_modes_round_trip_through_the_sdk() -> None:
    original = event()

    (from_binary,) = read_http(*to_binary_http(original))
    (from_structured,) = read_http(
        {"content-type": "application/cloudevents+json"}, to_structured(original)
    )
    from_batch = read_batch(to_batch([original, original]))

    for parsed in (from_binary, from_structured, *from_batch):
        assert parsed.get_attributes() == original.get_attributes()
        assert parsed.get_data() == original.get_data()


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        pytest.param({"content-type": "text/plain"}, "no ce- headers", id="no-mode"),
        pytest.param({"ce-id": "1", "ce-source": "/s"}, "type", id="binary-missing"),
        pytest.param(
            {"ce-id": "1", "ce-source": "/s", "ce-type": "t", "ce-specversion": "9.9"},
            "specversion",
            id="binary-bad-specversion",
        ),
    ],
)
def test_an_http_request_that_is_no_event_is_refused(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(InvalidCloudEvent, match=reason):
        read_http(headers, b"{}")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)
attribute_values = st.one_of(st.text(max_size=30), st.integers(), st.none(), json_values)


@settings(max_examples=300, deadline=None)
@given(
    document=st.dictionaries(
        st.sampled_from([*VALID, "data_base64", "subject", "dataschema", "x", "Ext"]),
        attribute_values,
    )
)
def test_any_json_object_is_an_event_or_an_invalid_cloudevent(document: dict[str, object]) -> None:
    try:
        parsed = read_structured(json.dumps(document))
    except InvalidCloudEvent:
        return
    assert parsed.get_specversion() == "1.0"


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=200) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_is_an_event_or_an_invalid_cloudevent(body: bytes) -> None:
    for reader in (read_structured, read_batch):
        try:
            reader(body)
        except InvalidCloudEvent:
            pass


@settings(max_examples=200, deadline=None)
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["ce-id", "ce-source", "ce-type", "ce-specversion", "ce-time", "content-type", "x"]
        ),
        st.text(max_size=40),
    ),
    body=st.binary(max_size=100),
)
def test_any_http_request_is_events_or_an_invalid_cloudevent(
    headers: dict[str, str], body: bytes
) -> None:
    try:
        read_http(headers, body)
    except InvalidCloudEvent:
        pass
