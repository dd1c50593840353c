"""The copy of a message the consumer gives up on, carrying why, for the dead-letter queue.

RabbitMQ's own dead-lettering (a reject) records only ``x-death``; the consumer publishes
this copy to the dead-letter exchange itself and then acks the original. The copy keeps
the body, the properties and the headers, and adds:

- ``x-facta-reason``: the error and its message (``facta.errors.InvalidCloudEvent: ...``);
- ``x-facta-error``: the error's class name, to filter on;
- ``x-facta-attempts``: how many deliveries it had;
- ``x-facta-queue``, ``x-facta-exchange``, ``x-facta-routing-key``: where it was consumed
  from and how it got there, to send it back after a fix.
"""

from __future__ import annotations

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, FieldValue

__all__ = ["REASON_HEADER", "dead_letter_copy"]

REASON_HEADER = "x-facta-reason"


def dead_letter_copy(
    message: AbstractIncomingMessage, error: Exception, reason: str, attempts: int, queue: str
) -> aio_pika.Message:
    """The persistent copy of ``message`` for the dead-letter queue, with the reason."""
    headers: dict[str, FieldValue] = {
        name: _encodable(value) for name, value in message.headers.items()
    }
    headers.update(
        {
            REASON_HEADER: reason,
            "x-facta-error": type(error).__name__,
            "x-facta-attempts": attempts,
            "x-facta-queue": queue,
            "x-facta-exchange": message.exchange or "",
            "x-facta-routing-key": message.routing_key or "",
        }
    )
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


def _encodable(value: FieldValue) -> FieldValue:
    """A received header value in a form AMQP can encode again (bytes are not)."""
    if isinstance(value, bytes):
        return bytearray(value)
    if isinstance(value, dict):
        return {str(name): _encodable(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    return value
