"""The AMQP message facta publishes: aio-pika's message interface, built once.

``aio_pika.Message`` is made for messages an application fills in and may change until
they are sent: each of its attributes is set through a check of the message's lock, and
its AMQP properties are built again at every publish. A CloudEvent's message is complete
when it is encoded, so ``OutgoingMessage`` sets its attributes plainly and builds its
properties (``aiormq.spec.Basic.Properties``, what ``Exchange.publish`` sends) once, with
the values ``aio_pika.Message`` would give them, except that it leaves out what a
receiver reads the same when absent (an empty header table, priority 0): encoding a
property costs about a microsecond. It is published through aio-pika like any other
message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import aiormq
from aio_pika.abc import AbstractMessage, DateType, DeliveryMode, HeadersType, MessageInfo

__all__ = ["OutgoingMessage"]


class OutgoingMessage(AbstractMessage):
    """A persistent message carrying one encoded CloudEvent, ready to publish.

    Its attributes are those of ``aio_pika.Message``; treat them as read-only (the
    message is ``locked``): ``properties`` were taken from them when it was made.
    """

    __slots__ = (
        "app_id",
        "body",
        "body_size",
        "content_encoding",
        "content_type",
        "correlation_id",
        "delivery_mode",
        "expiration",
        "headers",
        "message_id",
        "priority",
        "properties",
        "reply_to",
        "timestamp",
        "type",
        "user_id",
    )

    properties: aiormq.spec.Basic.Properties
    """The AMQP properties sent with the body."""

    def __init__(
        self,
        body: bytes,
        *,
        headers: HeadersType,
        content_type: str | None,
        message_id: str,
        timestamp: datetime | None,
        type: str,
    ) -> None:
        self.body = body
        self.body_size = len(body)
        self.headers = headers
        self.content_type = content_type
        self.content_encoding: str | None = None
        self.delivery_mode = DeliveryMode.PERSISTENT
        self.priority: int | None = None  # absent: the broker reads it as 0
        self.correlation_id: str | None = None
        self.reply_to: str | None = None
        self.expiration: DateType | None = None
        self.message_id: str | None = message_id
        self.timestamp = timestamp
        self.type: str | None = type
        self.user_id: str | None = None
        self.app_id: str | None = None
        self.properties = aiormq.spec.Basic.Properties(
            content_type=content_type,
            headers=headers or None,  # an empty table costs encoding and says nothing
            delivery_mode=DeliveryMode.PERSISTENT,
            message_id=message_id,
            timestamp=timestamp,
            message_type=type,
        )

    @property
    def locked(self) -> bool:
        """Always True: the properties were taken when the message was made."""
        return True

    def lock(self) -> None:
        """Nothing to do: the message is locked from the start."""

    def info(self) -> MessageInfo:
        """The message's properties, as ``aio_pika.Message.info`` gives them."""
        return MessageInfo(
            app_id=None,
            body_size=self.body_size,
            cluster_id=None,
            consumer_tag=None,
            content_encoding=None,
            content_type=self.content_type,
            correlation_id=None,
            delivery_mode=self.delivery_mode,
            delivery_tag=None,
            exchange=None,
            expiration=None,
            headers=self.headers,
            message_id=self.message_id,
            priority=self.priority,
            redelivered=None,
            reply_to=None,
            routing_key=None,
            timestamp=self.timestamp,
            type=str(self.type),
            user_id=None,
        )

    def __iter__(self) -> Iterator[int]:
        return iter(self.body)

    def __copy__(self) -> OutgoingMessage:
        return self  # locked: a copy could not differ

    def __repr__(self) -> str:
        return f"OutgoingMessage(type={self.type!r}, message_id={self.message_id!r})"
