"""Malformed requests, generated, against the real ingestion endpoint: whatever arrives is
never a 5xx, always a 4xx ``application/problem+json``, and nothing is written (guarantee 6).

Every generated request is malformed by construction (each strategy breaks at least one
thing a valid event needs), so a 2xx would be a bug as much as a 5xx.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facta.integration.cloudevents import read_structured, to_binary_http
from integration.http_support import Service, document, running
from support.shop import OrderPlacedV1, OrderPlacedV2

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "source", "type", "specversion")
EXTENSION = re.compile(r"[a-z0-9]{1,20}")
ATTRIBUTES = {*REQUIRED, "subject", "time", "dataschema", "datacontenttype", "data"}

Request = tuple[dict[str, str], bytes]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# values no string attribute or field accepts: not strings, or strings of letters only
# where a number or a time is expected
not_a_string = st.none() | st.integers() | st.booleans() | st.lists(st.integers(), max_size=2)
letters = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=12)
header_text = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=30)
bad_extension_names = st.one_of(
    st.text(alphabet="abcXYZ019_", min_size=1, max_size=8),
    st.text(alphabet="abc123", min_size=21, max_size=30),
).filter(lambda name: not EXTENSION.fullmatch(name) and name not in ATTRIBUTES)


def structured(doc: object) -> Request:
    return {"content-type": STRUCTURED}, json.dumps(doc).encode()


def batch(docs: list[object]) -> Request:
    return {"content-type": BATCH}, json.dumps(docs).encode()


def binary(doc: dict[str, Any]) -> Request:
    headers, body = to_binary_http(read_structured(json.dumps(doc)))
    return headers, body


@st.composite
def random_bodies(draw: st.DrawFn) -> Request:
    """Random bytes or random JSON, in any content type, with no ce- headers."""
    body = draw(
        st.binary(max_size=200)
        | json_values.filter(lambda value: value != []).map(lambda v: json.dumps(v).encode())
    )
    content_type = draw(
        st.sampled_from([STRUCTURED, BATCH, "application/json", "text/plain", "", None])
    )
    return ({} if content_type is None else {"content-type": content_type}), body


@st.composite
def broken_envelopes(draw: st.DrawFn) -> Request:
    """A valid event with at least one attribute broken, alone or in a batch of good ones."""
    doc: dict[str, Any] = document(draw(letters))
    breakages = draw(
        st.lists(
            st.sampled_from(
                ["drop", "retype", "empty", "specversion", "time", "extension", "base64"]
            ),
            min_size=1,
            max_size=3,
        )
    )
    for breakage in breakages:
        name = draw(st.sampled_from(REQUIRED))
        if breakage == "drop":
            doc.pop(name, None)
        elif breakage == "retype":
            doc[name] = draw(not_a_string | st.dictionaries(letters, letters, max_size=2))
        elif breakage == "empty":
            doc[name] = ""
        elif breakage == "specversion":
            doc["specversion"] = draw(header_text.filter(lambda text: text != "1.0"))
        elif breakage == "time":  # null is an absent time (the JSON format allows it)
            doc["time"] = draw(letters | not_a_string.filter(lambda value: value is not None))
        elif breakage == "extension":
            doc[draw(bad_extension_names)] = draw(letters)
        else:
            doc["data_base64"] = "eyJhIjogMX0="
    if draw(st.booleans()):
        return structured(doc)
    good = [document(f"good-{n}", order_id=f"o-{n}") for n in range(draw(st.integers(0, 2)))]
    return batch([*good, doc])


def _broken_order_data(draw: st.DrawFn, event_type: str) -> object:
    if event_type == OrderPlacedV1.cloudevent_type:
        data: dict[str, Any] = {"order_id": "o-1", "customer": "ann", "total_cents": 1250}
        wrong = st.none() | letters | st.lists(st.integers(), max_size=2) | st.just({})
    else:
        data = {"order_id": "o-1", "customer": "ann", "total": "12.50", "currency": "EUR"}
        wrong = st.none() | letters | st.lists(st.integers(), max_size=2) | st.just({})
    how = draw(st.sampled_from(["drop", "wrong", "not-an-object"]))
    if how == "not-an-object":
        return draw(st.none() | st.integers() | letters | st.lists(st.integers(), max_size=3))
    name = draw(st.sampled_from(sorted(data)))
    if how == "drop":
        del data[name]
    elif name in ("total", "total_cents"):
        data[name] = draw(wrong)
    else:
        data[name] = draw(not_a_string | st.just({}))
    return data


@st.composite
def broken_data(draw: st.DrawFn) -> Request:
    """A valid envelope of a type the service accepts, whose data does not fit the contract
    (or whose type it does not know), in any content mode."""
    event_type = draw(
        st.sampled_from([OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type])
    )
    doc = document(draw(letters), event_type=event_type)
    choice = draw(st.sampled_from(["data", "unknown-type", "not-json"]))
    if choice == "unknown-type":
        doc["type"] = draw(letters.map(lambda name: f"com.example.{name}.v1"))
    elif choice == "not-json":
        doc["datacontenttype"] = draw(st.sampled_from(["text/plain", "application/xml"]))
    else:
        doc["data"] = _broken_order_data(draw, event_type)
    mode = draw(st.sampled_from(["structured", "batch", "binary"]))
    if mode == "binary":
        return binary(doc)
    return structured(doc) if mode == "structured" else batch([doc])


@st.composite
def broken_headers(draw: st.DrawFn) -> Request:
    """Binary mode with a required ce- header gone or wrong, a bad extension header, a bad
    ce-time, or a body that is not the JSON its content type says."""
    headers, body = binary(document(draw(letters)))
    breakage = draw(st.sampled_from(["drop", "specversion", "time", "extension", "body"]))
    if breakage == "drop":
        del headers[f"ce-{draw(st.sampled_from(REQUIRED))}"]
    elif breakage == "specversion":
        headers["ce-specversion"] = draw(header_text.filter(lambda text: text != "1.0"))
    elif breakage == "time":
        headers["ce-time"] = draw(letters)
    elif breakage == "extension":
        name = draw(bad_extension_names.filter(lambda name: name == name.lower()))
        headers[f"ce-{name}"] = draw(letters)
    else:
        body = draw(st.binary(max_size=100))
    extra = draw(st.dictionaries(st.sampled_from(["x-noise", "accept"]), letters, max_size=1))
    return {**headers, **extra}, body


@pytest.fixture
async def service() -> AsyncIterator[Service]:
    async with running(None) as service:
        yield service


async def assert_refused_and_nothing_written(service: Service, request: Request) -> None:
    headers, body = request
    response = await service.client.post("/events", content=body, headers=headers)

    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == response.status_code
    assert problem["title"] and problem["detail"]
    assert await service.written() == 0


@FUZZ
@given(request=random_bodies())
async def test_random_bodies_are_refused(service: Service, request: Request) -> None:
    await assert_refused_and_nothing_written(service, request)


@FUZZ
@given(request=broken_envelopes())
async def test_broken_envelopes_are_refused(service: Service, request: Request) -> None:
    await assert_refused_and_nothing_written(service, request)


@FUZZ
@given(request=broken_data())
async def test_data_that_fits_no_contract_is_refused(service: Service, request: Request) -> None:
    await assert_refused_and_nothing_written(service, request)


@FUZZ
@given(request=broken_headers())
async def test_broken_binary_headers_are_refused(service: Service, request: Request) -> None:
    await assert_refused_and_nothing_written(service, request)
