"""CloudEvents in AMQP messages, both ways, on the SDK's RabbitMQ binding.

Structured mode puts the whole event in the body as ``application/cloudevents+json``;
binary mode puts the data in the body (its ``datacontenttype`` as the content type) and
each attribute in a ``ce-<name>`` header. Reading picks the mode by content type, like the
binding does, and turns anything that is not a valid CloudEvent into ``InvalidCloudEvent``
with the reason, through the same checks as every other way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

import aio_pika
from cloudevents.core.bindings import rabbitmq

from facta.errors import InvalidCloudEvent, PublishRefused
from facta.integration.cloudevents import (
    BATCH_CONTENT_TYPE,
    JSON_FORMAT,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    check_attributes,
    read_batch,
    read_structured,
)

__all__ = ["Mode", "read_message", "to_message"]

Mode = Literal["structured", "binary"]
"""How an event is put in a message: whole in the body, or its attributes in headers."""

_PREFIX = rabbitmq.CE_PREFIX
_REQUIRED = ("id", "source", "type", "specversion")


def to_message(event: CloudEvent, mode: Mode = "structured") -> aio_pika.Message:
    """A persistent message carrying ``event``; its id is the message id.

    Raises ``PublishRefused`` when the event cannot be encoded: sending it again would not
    help.
    """
    try:
        if mode == "binary":
            encoded = rabbitmq.to_binary(event, JSON_FORMAT)
        else:
            encoded = rabbitmq.to_structured(event, JSON_FORMAT)
    except Exception as error:  # the SDK and json raise many kinds; none is retryable
        raise PublishRefused(
            f"CloudEvent {event.get_id()} of type {event.get_type()} cannot be encoded: {error}"
        ) from error
    time = event.get_time()
    return aio_pika.Message(
        encoded.body,
        headers=dict(encoded.headers),
        content_type=encoded.content_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=event.get_id(),
        timestamp=time if isinstance(time, datetime) else None,
        type=event.get_type(),
    )


def read_message(
    content_type: str | None, headers: Mapping[str, object], body: bytes
) -> list[CloudEvent]:
    """The events in one AMQP message (one, or several for a batch).

    ``application/cloudevents+json`` is structured mode, ``application/cloudevents-batch+json``
    a batch; any other content type is binary mode and needs ``ce-`` headers. Raises
    ``InvalidCloudEvent`` with the reason when the message holds no valid CloudEvent.
    """
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == STRUCTURED_CONTENT_TYPE:
        return [read_structured(body)]
    if media_type == BATCH_CONTENT_TYPE:
        return read_batch(body)
    if media_type.startswith("application/cloudevents"):
        raise InvalidCloudEvent(
            f"event format {media_type} is not supported: send {STRUCTURED_CONTENT_TYPE}, "
            f"{BATCH_CONTENT_TYPE}, or binary mode"
        )
    attributes = {
        name.lower(): _header_text(name, value)
        for name, value in headers.items()
        if name.lower().startswith(_PREFIX)
    }
    if not attributes:
        raise InvalidCloudEvent(
            f"no ce- headers and the content type is {media_type or 'missing'}: send binary "
            f"mode, or {STRUCTURED_CONTENT_TYPE}, or {BATCH_CONTENT_TYPE}"
        )
    missing = [name for name in _REQUIRED if f"{_PREFIX}{name}" not in attributes]
    if missing:
        raise InvalidCloudEvent(f"missing required attribute(s): {', '.join(missing)}")
    if f"{_PREFIX}time" in attributes:
        _check_time(attributes[f"{_PREFIX}time"])
    message = rabbitmq.RabbitMQMessage(attributes, content_type, body)
    try:
        event = rabbitmq.from_binary(message, JSON_FORMAT, CloudEvent)
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    check_attributes(event.get_attributes(), event.get_data())
    return [event]


def _header_text(name: str, value: object) -> str:
    """A ``ce-`` header as text: the RabbitMQ binding sends strings, but AMQP has types."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            raise InvalidCloudEvent(f"header {name} is not UTF-8 text") from error
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise InvalidCloudEvent(f"header {name} must be a string, not {type(value).__name__}")


def _check_time(value: str) -> None:
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as error:
        raise InvalidCloudEvent(
            f"attribute time must be an RFC 3339 timestamp, not {value!r}"
        ) from error


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
