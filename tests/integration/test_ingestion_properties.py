"""Generated events and attribute sets against both ways in (issue 11): 10,000 examples
each sent over HTTP (facta's router, in process) and over AMQP (the consumer's decision
path). Whatever arrives: never a 5xx, never a retried poison message, nothing stored on a
refusal, and no valid event refused.

Whether an example is valid is decided here, independently of facta's checks: the
CloudEvents 1.0 type system with the ``rfc3986-validator`` and ``rfc3339-validator``
packages for URIs and timestamps, Unicode categories for strings, and the contract of the
shop's order events for the data.
"""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from rfc3339_validator import validate_rfc3339
from rfc3986_validator import validate_rfc3986

from facta.integration.amqp import Action
from integration.amqp_support import Broker, wait_until
from integration.ingestion_support import (
    BATCH,
    STRUCTURED,
    Inlet,
    Message,
    amqp_binary,
    amqp_structured,
    header_text,
    http_batch,
    http_binary,
    http_structured,
    inlet,
    loyalty_on_sqlite,
    written,
)
from integration.test_amqp_consumer import consuming
from support.shop import OrderPlacedV1, OrderPlacedV2

V1, V2 = OrderPlacedV1.cloudevent_type, OrderPlacedV2.cloudevent_type
CONTEXT = {"id", "source", "type", "specversion", "subject", "time", "dataschema"}
EXTENSION_NAME = re.compile(r"[a-z0-9]{1,20}")
JSON_TYPES = ("application/json", "application/json; charset=utf-8", "text/json")
MAX_DEPTH = 64  # IngestionLimits' default


def examples(count: int) -> settings:
    """``count`` examples, without a deadline (the machine is shared and busy)."""
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# --- the oracle: is this attribute set valid, and would the service take the event? ------


def clean(value: str) -> bool:
    """A CloudEvents String: no control characters, surrogates or noncharacters."""
    for char in value:
        point = ord(char)
        if unicodedata.category(char) in ("Cc", "Cs"):
            return False
        if 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
            return False
    return True


def valid_value(name: str, value: object) -> bool:
    """Whether ``value`` has the type the specification gives attribute ``name``."""
    if name == "time":
        return isinstance(value, datetime) or (isinstance(value, str) and validate_rfc3339(value))
    if name in CONTEXT or name == "datacontenttype":
        if not isinstance(value, str) or not value or not clean(value):
            return False
        if name == "source":
            return bool(validate_rfc3986(value, rule="URI_reference"))
        if name == "dataschema":
            return bool(validate_rfc3986(value, rule="URI"))
        return True
    if not EXTENSION_NAME.fullmatch(name):
        return False
    if isinstance(value, bool | bytes):
        return True
    if isinstance(value, int):
        return -(2**31) <= value < 2**31
    return isinstance(value, str) and clean(value)


def taken(attributes: dict[str, object], data_fits: bool) -> bool:
    """Whether the service must take an event with these attributes (as they arrive)."""
    present = {name: value for name, value in attributes.items() if value is not None}
    if any(name not in present for name in ("id", "source", "type", "specversion")):
        return False
    if present["specversion"] != "1.0" or present["type"] not in (V1, V2):
        return False
    if not all(valid_value(name, value) for name, value in present.items()):
        return False
    media_type = str(present.get("datacontenttype", "application/json"))
    return media_type in JSON_TYPES and data_fits


def as_headers(document: dict[str, Any]) -> dict[str, object]:
    """The attributes a binary-mode HTTP request carries: text, names in lower case."""
    attributes: dict[str, object] = {
        name.lower(): unquote(header_text(value))
        for name, value in document.items()
        if name not in ("data", "datacontenttype") and value is not None
    }
    attributes["datacontenttype"] = document.get("datacontenttype") or "application/json"
    return attributes


def as_amqp(document: dict[str, Any], prefix: str) -> dict[str, object]:
    """The attributes a binary-mode AMQP message carries: typed, ``ce-`` names lowered."""
    attributes: dict[str, object] = {}
    for name, value in document.items():
        if name in ("data", "datacontenttype") or value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool) and name == "time":
            value = datetime.fromtimestamp(value / 1000, tz=UTC)  # an AMQP timestamp
        attributes[name.lower() if prefix == "ce-" else name] = value
    attributes["datacontenttype"] = document.get("datacontenttype") or "application/json"
    return attributes


# --- generated attribute sets ---------------------------------------------------------


any_text = st.text(st.characters(codec="utf-8"), max_size=10)
clean_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Cn")), min_size=1, max_size=10
)
not_text = (
    st.integers(-5, 5)
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.just([1])
)
uri_chars = st.text(st.sampled_from("abz09:/?#[]@!$&'()*+,;=-._~% <>\"{}|\\^`"), max_size=14)
SOURCES = [
    "/shop/orders",
    "https://shop.example.com/orders",
    "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
    "mailto:ops@example.com",
    "1-555-123-4567",
    "orders/eu-1?x=1#f",
    "//[::1]:8080/p",
]
BAD_SOURCES = ["::not a uri ref::", "a b", "http://exa mple.com", "%zz", "//[zz]/x", "<x>"]
SCHEMAS = ["https://shop.example.com/schemas/order.json", "urn:example:schema:order"]
BAD_SCHEMAS = ["/schemas/order.json", "schemas order.json", "order.json", ""]
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)
timestamps = moments.map(lambda moment: moment.isoformat().replace("+00:00", "Z")) | moments.map(
    lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S.%f+02:00")
)
bad_timestamps = (
    moments.map(lambda moment: moment.strftime("%Y-%m-%d %H:%M:%SZ"))
    | moments.map(lambda moment: moment.strftime("%Y-%m-%dT%H:%M:%S"))
    | st.sampled_from(["yesterday", "2026-13-01T00:00:00Z", ""])
    | st.integers(-5, 5)
)
good_names = st.from_regex(r"[a-z0-9]{1,20}", fullmatch=True).filter(
    lambda name: name not in CONTEXT | {"data", "datacontenttype"}
)
bad_names = st.from_regex(r"[a-z0-9]{0,3}[_.-][a-z0-9]{0,3}", fullmatch=True) | st.from_regex(
    r"[a-z0-9]{21,24}", fullmatch=True
)
good_values = clean_text | st.integers(-(2**31), 2**31 - 1) | st.booleans()
bad_values = (
    st.floats(allow_nan=False, allow_infinity=False, width=32)  # what AMQP headers carry
    | st.lists(st.integers(-1000, 1000), min_size=1, max_size=2)
    | st.dictionaries(st.sampled_from("ab"), st.integers(-9, 9), min_size=1, max_size=1)
    | st.sampled_from([2**31, -(2**31) - 1, 2**40])
    | any_text.filter(lambda text: not clean(text))
)


def sometimes(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """A good value four times in five."""
    return draw(good) if draw(st.integers(0, 4)) else draw(bad)


@st.composite
def attribute_sets(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """An event document (attributes and data), and whether its data fits its contract."""
    event_type = sometimes(draw, st.sampled_from([V2, V1]), st.just("com.example.x.v1") | not_text)
    document: dict[str, Any] = {
        "specversion": sometimes(draw, st.just("1.0"), st.sampled_from(["0.3", "1", 1.0, ""])),
        "id": sometimes(draw, st.uuids().map(str), any_text | not_text),
        "source": sometimes(
            draw, st.sampled_from(SOURCES), st.sampled_from(BAD_SOURCES) | uri_chars
        ),
        "type": event_type,
    }
    optional = {
        "time": (timestamps, bad_timestamps),
        "subject": (clean_text, st.just("") | any_text | not_text),
        "dataschema": (st.sampled_from(SCHEMAS), st.sampled_from(BAD_SCHEMAS) | st.integers()),
        "datacontenttype": (st.sampled_from(JSON_TYPES), st.sampled_from(["text/plain", "nope"])),
    }
    for name, (good, bad) in optional.items():
        if draw(st.booleans()):
            document[name] = sometimes(draw, good | st.none(), bad)
    for _ in range(draw(st.integers(0, 3))):
        name = sometimes(draw, good_names, bad_names)
        document[name] = sometimes(draw, good_values | st.none(), bad_values)
    data_fits = bool(draw(st.integers(0, 4)))
    if event_type == V1:
        data: dict[str, Any] = {"order_id": "o-1", "customer": "ann", "total_cents": 1250}
    else:
        data = {"order_id": "o-1", "customer": "ann", "total": "12.50", "currency": "EUR"}
    if not data_fits:
        data.pop(draw(st.sampled_from(sorted(data))))
    document["data"] = data
    return document, data_fits


DEEP_MARK = '"__10000_deep__"'


@st.composite
def nested_data(draw: st.DrawFn) -> tuple[dict[str, Any], int]:
    """A valid event whose data carries an ignored field nested around the depth limit
    (arrays and objects, with strings full of brackets beside them), or 10,000 deep."""
    depth = draw(st.integers(MAX_DEPTH - 8, MAX_DEPTH + 3) | st.just(10_000))
    nested: object = draw(st.sampled_from([[], {}, [1], {"k": "]]}"}]))
    if depth == 10_000:
        nested = DEEP_MARK.strip('"')  # replaced by 10,000 nested arrays in the text
    else:
        for _ in range(depth - 1):
            if draw(st.booleans()):
                nested = {draw(st.text("ab[{", max_size=2)): nested}
            elif draw(st.booleans()):
                nested = [nested]
            else:
                nested = [draw(st.text('[]{}"\\', max_size=2)), nested]
    document = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/shop/orders",
        "type": V2,
        "data": {
            "order_id": "o-1",
            "customer": "ann",
            "total": "1",
            "currency": "EUR",
            "extra": nested,
        },
    }
    return document, depth


# --- the properties -------------------------------------------------------------------


@pytest.fixture
async def ways_in() -> AsyncIterator[Inlet]:
    async with inlet() as ways_in:
        yield ways_in


async def check_http(ways_in: Inlet, request: tuple[dict[str, str], bytes], valid: bool) -> None:
    before = await written(ways_in.http_app)
    response = await ways_in.post(*request)
    assert response.status_code < 500, response.text
    if valid:
        assert response.status_code == 200, response.text
    else:
        assert 400 <= response.status_code < 500, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert await written(ways_in.http_app) == before


async def check_amqp(ways_in: Inlet, message: Message, valid: bool) -> None:
    before = await written(ways_in.amqp_app)
    decision = await ways_in.deliver(message)
    assert decision.action is not Action.RETRY, decision.error
    if valid:
        assert decision.action is Action.ACK, decision.error
    else:
        assert decision.action is Action.DEAD_LETTER
        assert await written(ways_in.amqp_app) == before


@examples(4_500)
@given(example=attribute_sets(), http_mode=st.sampled_from(["structured", "batch"]))
async def test_attribute_sets_in_the_json_format(
    ways_in: Inlet, example: tuple[dict[str, Any], bool], http_mode: str
) -> None:
    document, data_fits = example
    valid = taken({k: v for k, v in document.items() if k != "data"}, data_fits)
    request = http_structured(document) if http_mode == "structured" else http_batch([document])

    await check_http(ways_in, request, valid)
    await check_amqp(ways_in, amqp_structured(document), valid)


@examples(4_500)
@given(example=attribute_sets(), prefix=st.sampled_from(["ce-", "cloudEvents_", "cloudEvents:"]))
async def test_attribute_sets_in_binary_mode(
    ways_in: Inlet, example: tuple[dict[str, Any], bool], prefix: str
) -> None:
    document, data_fits = example
    if isinstance(document.get("time"), int) and not isinstance(document["time"], bool):
        document["time"] = str(document["time"])  # an int time is an AMQP timestamp: valid

    await check_http(ways_in, http_binary(document), taken(as_headers(document), data_fits))
    await check_amqp(
        ways_in, amqp_binary(document, prefix), taken(as_amqp(document, prefix), data_fits)
    )


@examples(1_000)
@given(example=nested_data(), mode=st.sampled_from(["structured", "batch", "binary"]))
async def test_json_nested_past_the_limit_is_refused_and_within_it_taken(
    ways_in: Inlet, example: tuple[dict[str, Any], int], mode: str
) -> None:
    document, depth = example
    text = json.dumps(document).replace(DEEP_MARK, "[" * 10_000 + "]" * 10_000)
    # levels: the event's object, its data, then the nested arrays (and a batch's array)
    levels = {"structured": 2, "batch": 3, "binary": 1}[mode] + depth
    valid = levels <= MAX_DEPTH
    data_text = text[text.index('{"order_id"') : -1]
    if mode == "binary":
        headers, _ = http_binary({**document, "data": None})
        await check_http(ways_in, (headers, data_text.encode()), valid)
        message: Message = ("application/json", amqp_binary(document)[1], data_text.encode())
    elif mode == "batch":
        await check_http(ways_in, ({"content-type": BATCH}, f"[{text}]".encode()), valid)
        message = (BATCH, {}, f"[{text}]".encode())
    else:
        await check_http(ways_in, ({"content-type": STRUCTURED}, text.encode()), valid)
        message = (STRUCTURED, {}, text.encode())
    await check_amqp(ways_in, message, valid)


# --- a smaller run through the real broker ---------------------------------------------


def generated_messages(count: int) -> list[tuple[Message, bool]]:
    """``count`` generated attribute sets as AMQP messages, each with whether it is valid."""
    found: list[tuple[Message, bool]] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(example=attribute_sets(), mode=st.sampled_from(["structured", "ce-", "cloudEvents_"]))
    def collect(example: tuple[dict[str, Any], bool], mode: str) -> None:
        document, data_fits = example
        if mode == "structured":
            attributes = {name: value for name, value in document.items() if name != "data"}
            found.append((amqp_structured(document), taken(attributes, data_fits)))
            return
        if isinstance(document.get("time"), int) and not isinstance(document["time"], bool):
            document["time"] = str(document["time"])
        found.append((amqp_binary(document, mode), taken(as_amqp(document, mode), data_fits)))

    collect()
    return found


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


async def test_generated_messages_through_rabbitmq_are_acked_or_dead_lettered_never_retried(
    broker: Broker, tmp_path: Path
) -> None:
    messages = generated_messages(300)
    exchange = broker.name("events")
    async with (
        loyalty_on_sqlite(tmp_path) as app,
        consuming(app, broker, exchange, max_attempts=5) as consumer,
    ):
        for number, ((content_type, headers, body), _) in enumerate(messages):
            await broker.publish(
                exchange,
                V2,
                body,
                content_type=content_type,
                headers=headers,
                message_id=f"m-{number}",
            )
        await wait_until(
            lambda: consumer.stats.received - consumer.stats.retried >= len(messages),
            60,
            f"not all settled: {consumer.stats}",
        )
        assert consumer.stats.retried == 0

    invalid = {f"m-{number}" for number, (_, valid) in enumerate(messages) if not valid}
    assert consumer.stats.dead_lettered == len(invalid)
    assert consumer.stats.handled + consumer.stats.duplicates == len(messages) - len(invalid)
    dead = await broker.collect(consumer.dead_letter_queue, len(invalid))
    assert {str(copy.message_id) for copy in dead} == invalid
