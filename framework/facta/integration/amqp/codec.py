"""CloudEvents in AMQP messages, both ways, on the SDK's RabbitMQ binding.

Structured mode puts the whole event in the body as ``application/cloudevents+json``;
binary mode puts the data in the body (its ``datacontenttype`` as the content type) and
each attribute in a ``ce-<name>`` header. Reading picks the mode by content type, like the
binding does, and also reads binary mode as the SDK's AMQP binding writes it (other
producers' attributes in ``cloudEvents_<name>`` or ``cloudEvents:<name>`` application
properties, with AMQP types). It turns anything that is not a valid CloudEvent into
``InvalidCloudEvent`` with the reason, through the same checks as every other way in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import unquote

from cloudevents.core.bindings import amqp, rabbitmq

from facta.errors import InvalidCloudEvent, PublishRefused
from facta.integration.amqp.message import OutgoingMessage
from facta.integration.attributes import check_attributes
from facta.integration.cloudevents import (
    BATCH_CONTENT_TYPE,
    DEFAULT_LIMITS,
    JSON_FORMAT,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    check_data,
    read_batch,
    read_structured,
)
from facta.integration.limits import IngestionLimits

__all__ = ["Mode", "read_message", "to_message"]

Mode = Literal["structured", "binary"]
"""How an event is put in a message: whole in the body, or its attributes in headers."""

_PREFIX = rabbitmq.CE_PREFIX
_AMQP_PREFIXES = (amqp.CE_PREFIX_UNDERSCORE, amqp.CE_PREFIX_COLON)  # of one length


def to_message(event: CloudEvent, mode: Mode = "structured") -> OutgoingMessage:
    """A persistent message carrying ``event``; its id is the message id, its type the
    message type, its time the timestamp.

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
    return OutgoingMessage(
        encoded.body,
        headers=dict(encoded.headers),
        content_type=encoded.content_type,
        message_id=event.get_id(),
        timestamp=time if isinstance(time, datetime) else None,
        type=event.get_type(),
    )


def read_message(
    content_type: str | None,
    headers: Mapping[str, object],
    body: bytes,
    *,
    limits: IngestionLimits = DEFAULT_LIMITS,
) -> list[CloudEvent]:
    """The events in one AMQP message (one, or several for a batch).

    ``application/cloudevents+json`` is structured mode, ``application/cloudevents-batch+json``
    a batch; any other content type is binary mode, with the attributes in ``ce-`` headers
    (the RabbitMQ binding) or in ``cloudEvents_``/``cloudEvents:`` application properties
    (the AMQP binding, as other producers send them). Raises ``InvalidCloudEvent`` with the
    reason when the message holds no valid CloudEvent or goes over ``limits``.
    """
    limits.check_size(body)
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == STRUCTURED_CONTENT_TYPE:
        return [read_structured(body, limits=limits)]
    if media_type == BATCH_CONTENT_TYPE:
        return read_batch(body, limits=limits)
    if media_type.startswith("application/cloudevents"):
        raise InvalidCloudEvent(
            f"event format {media_type} is not supported: send {STRUCTURED_CONTENT_TYPE}, "
            f"{BATCH_CONTENT_TYPE}, or binary mode"
        )
    attributes = _binary_attributes(headers)
    if content_type:
        attributes["datacontenttype"] = content_type
    check_attributes(attributes)
    check_data(body, content_type, limits)
    properties = {amqp.CONTENT_TYPE_PROPERTY: content_type} if content_type else {}
    message = amqp.AMQPMessage(
        properties=properties,
        application_properties={
            f"{amqp.CE_PREFIX_UNDERSCORE}{name}": value
            for name, value in attributes.items()
            if name != "datacontenttype"
        },
        application_data=body,
    )
    try:
        event = amqp.from_binary(message, JSON_FORMAT, CloudEvent)
    except Exception as error:  # the SDK raises many kinds; all mean the same to a sender
        raise InvalidCloudEvent(_describe(error)) from error
    assert isinstance(event, CloudEvent)
    return [event]


def _binary_attributes(headers: Mapping[str, object]) -> dict[str, object]:
    """The attributes of a binary-mode message, as typed values, from either binding."""
    rabbitmq_style: dict[str, object] = {}
    amqp_style: dict[str, object] = {}
    for name, value in headers.items():
        if name.lower().startswith(_PREFIX):
            text = _header_value(name, value)
            # the RabbitMQ binding percent-encodes strings, like HTTP headers
            rabbitmq_style[name[len(_PREFIX) :].lower()] = (
                unquote(text) if isinstance(text, str) else text
            )
        elif name.startswith(_AMQP_PREFIXES):
            amqp_style[name[len(amqp.CE_PREFIX_UNDERSCORE) :]] = _header_value(name, value)
    if rabbitmq_style and amqp_style:
        raise InvalidCloudEvent(
            "the message mixes ce- headers (RabbitMQ binding) and cloudEvents_ properties "
            "(AMQP binding): use one binding"
        )
    attributes = rabbitmq_style or amqp_style
    if not attributes:
        raise InvalidCloudEvent(
            f"no ce- headers or cloudEvents_ properties: send binary mode, or "
            f"{STRUCTURED_CONTENT_TYPE}, or {BATCH_CONTENT_TYPE}"
        )
    time = attributes.get("time")
    if isinstance(time, int) and not isinstance(time, bool):  # AMQP timestamp, in ms
        try:
            attributes["time"] = datetime.fromtimestamp(time / 1000, tz=UTC)
        except (OverflowError, ValueError, OSError) as error:
            raise InvalidCloudEvent(f"attribute time is out of range: {time}") from error
    return attributes


def _header_value(name: str, value: object) -> object:
    """A header as a CloudEvents value: text, a boolean, an integer, bytes or a timestamp.

    AMQP headers are typed; a float, a list, a table or a void value is none of the
    CloudEvents types (``check_attributes`` then refuses it, naming the attribute).
    """
    if isinstance(value, bytes | bytearray):
        try:
            return bytes(value).decode("utf-8")  # a long string, as some clients read it
        except UnicodeDecodeError:
            return bytes(value)  # Binary
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)  # AMQP timestamps are UTC
    return value


def _describe(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
