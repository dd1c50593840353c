"""Domain events to CloudEvents and back, with the official SDK (``cloudevents.core``).

Building: a contract maps the domain event to its integration data; the CloudEvent keeps
the domain event's id (so a re-send can be recognised), its aggregate as ``subject``, its
time, its aggregate version as ``sequence``, and the correlation, causation and trace ids
as extension attributes. Reading: every way in (HTTP binary, structured or batch; AMQP)
goes through ``read_*`` here, which turns whatever the SDK or the JSON parser objects to
into one typed error, ``InvalidCloudEvent``, with the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import http as http_binding
from cloudevents.core.bindings.http import HTTPMessage
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from facta.application.integration import Envelope, IntegrationEvent
from facta.domain import DomainEvent
from facta.errors import InvalidCloudEvent

__all__ = [
    "BATCH_CONTENT_TYPE",
    "JSON_FORMAT",
    "STRUCTURED_CONTENT_TYPE",
    "CloudEvent",
    "build_cloudevent",
    "check_attributes",
    "envelope_of",
    "read_batch",
    "read_http",
    "read_structured",
    "to_batch",
    "to_binary_http",
    "to_structured",
]

JSON_FORMAT = JSONFormat()
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")
_REQUIRED = ("id", "source", "type", "specversion")


def build_cloudevent(
    source: str, data: IntegrationEvent, event: DomainEvent, dataschema: str | None = None
) -> CloudEvent:
    """The CloudEvent publishing ``data`` (a contract's mapping of ``event``) from ``source``."""
    attributes: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(event.event_id),
        "source": source,
        "type": data.cloudevent_type,
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
    return CloudEvent(attributes, data.model_dump(mode="json"))


def to_structured(event: CloudEvent) -> bytes:
    """The event in the JSON event format (structured mode), as bytes."""
    return JSON_FORMAT.write(event)


def to_binary_http(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """The event in HTTP binary mode: ``ce-`` headers and the data as the body."""
    message = http_binding.to_binary(event, JSON_FORMAT)
    return dict(message.headers), message.body


def read_structured(body: bytes | str) -> CloudEvent:
    """Parse one event in the JSON event format; ``InvalidCloudEvent`` if it is not one."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidCloudEvent(f"the body is not JSON ({error})") from error
    return _from_document(document)


def read_batch(body: bytes | str) -> list[CloudEvent]:
    """Parse a JSON batch (an array of events); ``InvalidCloudEvent`` names the bad one."""
    try:
        documents = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidCloudEvent(f"the body is not JSON ({error})") from error
    if not isinstance(documents, list):
        raise InvalidCloudEvent("a batch must be a JSON array of events")
    events = []
    for index, document in enumerate(documents):
        try:
            events.append(_from_document(document))
        except InvalidCloudEvent as error:
            raise InvalidCloudEvent(f"event {index} of the batch: {error.reason}") from error
    return events


def read_http(headers: Mapping[str, str], body: bytes) -> list[CloudEvent]:
    """Parse an HTTP request in binary, structured or batch mode (by its headers)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    if content_type == BATCH_CONTENT_TYPE:
        return read_batch(body)
    if content_type == STRUCTURED_CONTENT_TYPE:
        return [read_structured(body)]
    if not any(name.startswith("ce-") for name in lowered):
        raise InvalidCloudEvent(
            f"no ce- headers and the content type is {content_type or 'missing'}: send "
            f"binary mode, or {STRUCTURED_CONTENT_TYPE}, or {BATCH_CONTENT_TYPE}"
        )
    missing = [name for name in _REQUIRED if f"ce-{name}" not in lowered]
    if missing:
        raise InvalidCloudEvent(f"missing required attribute(s): {', '.join(missing)}")
    try:
        event = http_binding.from_binary(HTTPMessage(lowered, body), JSON_FORMAT, CloudEvent)
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    check_attributes(event.get_attributes(), event.get_data())
    return [event]


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


def _from_document(document: object) -> CloudEvent:
    if not isinstance(document, dict):
        raise InvalidCloudEvent("an event must be a JSON object")
    missing = [name for name in _REQUIRED if name not in document]
    if missing:
        raise InvalidCloudEvent(f"missing required attribute(s): {', '.join(missing)}")
    if "data" in document and "data_base64" in document:
        raise InvalidCloudEvent("an event must not carry both data and data_base64")
    for name in ("id", "source", "type", "specversion"):
        if not isinstance(document[name], str):
            raise InvalidCloudEvent(f"attribute {name} must be a string")
    if "time" in document:
        _check_time(document["time"])
    try:
        event = JSON_FORMAT.read(CloudEvent, json.dumps(document))
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    check_attributes(event.get_attributes(), event.get_data())
    return event


def _check_time(value: object) -> None:
    try:
        if not isinstance(value, str):
            raise ValueError("not a string")
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as error:
        raise InvalidCloudEvent(
            f"attribute time must be an RFC 3339 timestamp, not {value!r}"
        ) from error


def check_attributes(attributes: Mapping[str, Any], data: object) -> None:
    """What the CloudEvents 1.0 specification requires beyond the SDK's own checks.

    Every way in (HTTP here, AMQP in ``facta.integration.amqp``) calls it on what it read.
    """
    if attributes.get("specversion") != "1.0":
        raise InvalidCloudEvent(f"specversion must be '1.0', not {attributes.get('specversion')!r}")
    for name in ("id", "source", "type"):
        if not attributes.get(name):
            raise InvalidCloudEvent(f"attribute {name} must not be empty")
    for name in attributes:
        if name not in _KNOWN_ATTRIBUTES and not _EXTENSION_NAME.match(name):
            raise InvalidCloudEvent(
                f"extension attribute {name!r} must be 1 to 20 lowercase letters or digits"
            )


_KNOWN_ATTRIBUTES = frozenset(
    {"id", "source", "type", "specversion", "subject", "time", "dataschema", "datacontenttype"}
)


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def to_batch(events: Sequence[CloudEvent]) -> bytes:
    """Events in the JSON batch format."""
    return b"[" + b",".join(to_structured(event) for event in events) + b"]"
