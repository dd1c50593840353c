"""The ingestion limits (issue 11): explicit settings with documented defaults, and a depth
measured on the raw text that agrees with the depth of what it parses to, whatever the
strings hold (brackets, quotes, escapes)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facta import IngestionLimits, InvalidCloudEvent
from facta.integration.amqp import Action, DeliveryPolicy
from facta.integration.cloudevents import read_structured
from facta.integration.limits import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_MAX_DEPTH,
    check_depth,
    load_json,
)
from integration.http_support import document
from integration.ingestion_support import http_structured, inlet, loyalty_in_memory, written

tricky_text = st.text(st.sampled_from('ab[]{}"\\,:é'), max_size=6)
json_values = st.recursive(
    st.none() | st.integers() | tricky_text,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(tricky_text, children, max_size=3)
    ),
    max_leaves=20,
)


def depth(value: object) -> int:
    """How deeply arrays and objects nest in ``value`` (a scalar is 0)."""
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


def test_the_defaults_are_one_mebibyte_and_64_levels() -> None:
    assert IngestionLimits() == IngestionLimits(max_body_size=1024 * 1024, max_depth=64)
    assert (DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_DEPTH) == (1024 * 1024, 64)


@pytest.mark.parametrize(
    "limits", [{"max_body_size": 0}, {"max_depth": 0}], ids=["body-size", "depth"]
)
def test_a_limit_below_one_is_refused(limits: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        IngestionLimits(**limits)


def test_a_body_over_the_size_limit_is_refused_naming_the_limit() -> None:
    with pytest.raises(InvalidCloudEvent, match="more than the limit of 10"):
        IngestionLimits(max_body_size=10).check_size(b"x" * 11)


@settings(max_examples=500, deadline=None)
@given(value=json_values, limit=st.integers(1, 8), ascii_only=st.booleans())
def test_the_depth_measured_on_the_text_is_the_depth_of_the_value(
    value: object, limit: int, ascii_only: bool
) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)

    if depth(value) <= limit:
        assert load_json(text, limit) == value
    else:
        with pytest.raises(InvalidCloudEvent, match=f"deeper than the limit of {limit} levels"):
            check_depth(text, limit)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 10_000 + b"]" * 10_000, id="10000-nested-arrays"),
        pytest.param(b'{"a":' * 10_000 + b"1" + b"}" * 10_000, id="10000-nested-objects"),
        pytest.param(b"[" * 10_000, id="10000-unclosed"),
        pytest.param(b'["' + b'\\"' * 10_000, id="an-unterminated-string-of-escapes"),
        pytest.param(b"[[[]]]" * 10_000, id="many-shallow-arrays"),
    ],
)
def test_hostile_bodies_are_refused_as_bad_input_not_as_a_crash(body: bytes) -> None:
    with pytest.raises(InvalidCloudEvent):
        load_json(body, DEFAULT_MAX_DEPTH)


async def test_a_message_over_the_consumers_body_limit_is_dead_lettered_naming_it() -> None:
    policy = DeliveryPolicy(IngestionLimits(max_body_size=100))
    app = loyalty_in_memory()
    body = json.dumps(document("big", data={"order_id": "o-1", "padding": "x" * 200})).encode()

    decision = await policy.decide(app.ingestor, "application/cloudevents+json", {}, body, 1)

    assert decision.action is Action.DEAD_LETTER
    assert "more than the limit of 100" in str(decision.error)
    assert await written(app) == 0


async def test_a_router_with_a_lower_depth_limit_refuses_what_the_default_takes() -> None:
    deep = document("deep", data={**document()["data"], "extra": [[[[[1]]]]]})
    async with inlet(IngestionLimits(max_depth=6)) as strict, inlet() as default:
        refused = await strict.post(*http_structured(deep))
        taken = await default.post(*http_structured(deep))

    assert refused.status_code == 400
    assert "deeper than the limit of 6 levels" in refused.json()["detail"]
    assert taken.status_code == 200


def test_deep_json_inside_data_base64_is_refused_too() -> None:
    deep = base64.b64encode(b"[" * 10_000 + b"]" * 10_000).decode()
    document = {"specversion": "1.0", "id": "1", "source": "/s", "type": "t"}

    with pytest.raises(InvalidCloudEvent, match="the data nests JSON deeper"):
        read_structured(json.dumps({**document, "data_base64": deep}))
