"""Domain events to CloudEvents and back, with the official SDK (``cloudevents.core``).

Building: a contract maps the domain event to its integration data; the CloudEvent keeps
the domain event's id (so a re-send can be recognised), its aggregate as ``subject``, its
time, its aggregate version as ``sequence``, and the correlation, causation and trace ids
as extension attributes. Reading: every way in (HTTP binary, structured or batch; AMQP)
goes through ``read_*`` here, which turns whatever the SDK or the JSON parser objects to
into one typed error, ``InvalidCloudEvent``, with the reason. The attributes are checked
against the specification's type system (``facta.integration.attributes``) as they
arrived, and the JSON against the ``IngestionLimits`` (``facta.integration.limits``),
before the SDK sees them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote

from cloudevents.core.bindings import http as http_binding
from cloudevents.core.bindings.http import HTTPMessage
from cloudevents.core.v1.event import CloudEvent

from facta.application.integration import Envelope, IntegrationEvent
from facta.domain import DomainEvent
from facta.errors import InvalidCloudEvent
from facta.integration.attributes import check_attributes, drop_nulls
from facta.integration.json_format import EventFormat
from facta.integration.limits import IngestionLimits, check_depth, load_json

__all__ = [
    "BATCH_CONTENT_TYPE",
    "DEFAULT_LIMITS",
    "JSON_FORMAT",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "build_cloudevent",
    "check_attributes",
    "check_data",
    "envelope_of",
    "is_json",
    "read_batch",
    "read_http",
    "read_structured",
    "to_batch",
    "to_binary_http",
    "to_structured",
]

JSON_FORMAT = EventFormat()
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
DEFAULT_LIMITS = IngestionLimits()


def build_cloudevent(
    source: str, data: IntegrationEvent, event: DomainEvent, dataschema: str | None = None
) -> CloudEvent:
    """The CloudEvent publishing ``data`` (a contract's mapping of ``event``) from ``source``.

    Raises the SDK's ``CloudEventValidationError`` when ``source``, the type or
    ``dataschema`` is not a non-empty string.
    """
    cloudevent_type = data.cloudevent_type
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": source,
        "type": cloudevent_type,
        "time": event.occurred_at,
        "datacontenttype": "application/json",
        "sequence": f"{event.aggregate_version:020d}",
    }
    if event.aggregate_id:
        attributes["subject"] = event.aggregate_id
    if dataschema:
        attributes["dataschema"] = dataschema
    if event.correlation_id is not None:
        attributes["correlationid"] = str(event.correlation_id)
    if event.causation_id is not None:
        attributes["causationid"] = str(event.causation_id)
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
    payload = data.model_dump(mode="json")
    if _text(source) and _text(cloudevent_type) and (dataschema is None or _text(dataschema)):
        return _BuiltCloudEvent(attributes, payload)
    return CloudEvent(attributes, payload)  # the SDK names what is wrong


class _BuiltCloudEvent(CloudEvent):
    """A CloudEvent ``build_cloudevent`` made from parts that are valid by construction.

    The SDK checks every attribute of every event it constructs (about 9 µs here, a
    twentieth of a publish). Here the ids are UUIDs, the time an aware datetime, the
    sequence digits, the extension names fixed, the optional text attributes set only
    when not empty, and ``source``, type and ``dataschema`` were checked to be non-empty
    text just before: nothing is left for the check to find. The tests hold every event
    built so to the SDK's check. Should a release of the SDK stop calling this hook, the
    events are checked again: slower, never wrong.
    """

    @staticmethod
    def _validate_attribute(attributes: dict[str, Any]) -> None:
        """Nothing to check: see the class."""


def _text(value: object) -> bool:
    return type(value) is str and value != ""


def to_structured(event: CloudEvent) -> bytes:
    """The event in the JSON event format (structured mode), as bytes."""
    return JSON_FORMAT.write(event)


def to_binary_http(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """The event in HTTP binary mode: ``ce-`` headers and the data as the body."""
    message = http_binding.to_binary(event, JSON_FORMAT)
    return dict(message.headers), message.body


def read_structured(body: bytes | str, *, limits: IngestionLimits = DEFAULT_LIMITS) -> CloudEvent:
    """Parse one event in the JSON event format; ``InvalidCloudEvent`` if it is not one."""
    return _from_document(load_json(body, limits.max_depth), limits)


def read_batch(body: bytes | str, *, limits: IngestionLimits = DEFAULT_LIMITS) -> list[CloudEvent]:
    """Parse a JSON batch (an array of events); ``InvalidCloudEvent`` names the bad one."""
    documents = load_json(body, limits.max_depth)
    if not isinstance(documents, list):
        raise InvalidCloudEvent("a batch must be a JSON array of events")
    events = []
    for index, document in enumerate(documents):
        try:
            events.append(_from_document(document, limits))
        except InvalidCloudEvent as error:
            raise InvalidCloudEvent(f"event {index} of the batch: {error.reason}") from error
    return events


def read_http(
    headers: Mapping[str, str], body: bytes, *, limits: IngestionLimits = DEFAULT_LIMITS
) -> list[CloudEvent]:
    """Parse an HTTP request in binary, structured or batch mode (by its headers)."""
    limits.check_size(body)
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    if content_type == BATCH_CONTENT_TYPE:
        return read_batch(body, limits=limits)
    if content_type == STRUCTURED_CONTENT_TYPE:
        return [read_structured(body, limits=limits)]
    if not any(name.startswith("ce-") for name in lowered):
        raise InvalidCloudEvent(
            f"no ce- headers and the content type is {content_type or 'missing'}: send "
            f"binary mode, or {STRUCTURED_CONTENT_TYPE}, or {BATCH_CONTENT_TYPE}"
        )
    attributes: dict[str, object] = {
        name[3:]: unquote(value) for name, value in lowered.items() if name.startswith("ce-")
    }
    if "content-type" in lowered:
        attributes["datacontenttype"] = lowered["content-type"]
    check_attributes(attributes)
    check_data(body, lowered.get("content-type"), limits)
    try:
        event = http_binding.from_binary(HTTPMessage(lowered, body), JSON_FORMAT, CloudEvent)
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    return [event]


def is_json(content_type: str | None) -> bool:
    """Whether data of ``content_type`` is JSON (no content type means JSON, by default)."""
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    return media_type in ("application/json", "text/json") or media_type.endswith("+json")


def check_data(data: object, content_type: str | None, limits: IngestionLimits) -> None:
    """Refuse JSON data (as bytes or text) that nests deeper than the limits allow."""
    if isinstance(data, bytes | str) and is_json(content_type):
        check_depth(data, limits.max_depth, "the data")


def envelope_of(event: CloudEvent) -> Envelope:
    """The attributes of a received event, for its handler."""
    attributes = event.get_attributes()
    known = {"id", "source", "type", "specversion", "subject", "time", "dataschema"}
    return Envelope(
        id=event.get_id(),
        source=event.get_source(),
        type=event.get_type(),
        subject=event.get_subject(),
        time=event.get_time(),
        dataschema=event.get_dataschema(),
        extensions={
            key: value
            for key, value in attributes.items()
            if key not in known and key != "datacontenttype"
        },
    )


def _from_document(document: object, limits: IngestionLimits) -> CloudEvent:
    if not isinstance(document, dict):
        raise InvalidCloudEvent("an event must be a JSON object")
    document = drop_nulls(document)
    if "data" in document and "data_base64" in document:
        raise InvalidCloudEvent("an event must not carry both data and data_base64")
    check_attributes({name: value for name, value in document.items() if name not in _PAYLOAD})
    encoded = document.get("data_base64")
    if encoded is not None and not isinstance(encoded, str):
        raise InvalidCloudEvent("data_base64 must be a base64 string")
    try:
        event = JSON_FORMAT.read(CloudEvent, json.dumps(document))
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    if encoded is not None:
        check_data(event.get_data(), event.get_datacontenttype(), limits)
    return event


_PAYLOAD = frozenset({"data", "data_base64"})


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def to_batch(events: Sequence[CloudEvent]) -> bytes:
    """Events in the JSON batch format."""
    return b"[" + b",".join(to_structured(event) for event in events) + b"]"
