"""Publishing CloudEvents to RabbitMQ, each one confirmed by the broker.

The connection, the channel (in confirm mode) and the exchange are aio-pika's. A message
is published on the channel's aiormq channel, which ``Exchange.publish`` calls too, but
without waiting for its frames to be written: aio-pika waits for that while it holds the
channel's lock, so concurrent publishes (the relay's, ``DeliverySettings.concurrency``
of them) queue behind each other's writes. The broker's confirm, which is awaited,
comes after the write anyway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from types import TracebackType

import aiormq
import aiormq.exceptions
from aio_pika.abc import AbstractChannel

from facta.errors import PublishFailed
from facta.integration.amqp.codec import Mode, to_message
from facta.integration.amqp.connection import Link
from facta.integration.amqp.message import OutgoingMessage
from facta.integration.amqp.topology import DEFAULT_EXCHANGE, declare_events_exchange
from facta.integration.amqp.transport import CoalescingTransportFactory
from facta.integration.cloudevents import CloudEvent

__all__ = ["AmqpPublisher"]

_log = logging.getLogger("facta.amqp")
_BUSY = 16
"""Publishes awaiting their confirms from which writes are coalesced: with 16 in flight
and a 1 ms window, a publisher still sends well over 10,000 messages a second."""


class AmqpPublisher:
    """Publishes CloudEvents to a durable RabbitMQ topic exchange, routed by their type.

    Each event becomes one persistent message (routing key: its type; message id: its id)
    in structured mode (``application/cloudevents+json``) or, with ``mode="binary"``, with
    its attributes in ``ce-`` headers. ``publish`` returns only once the broker confirmed
    every message; a nack, a missing confirm within ``confirm_timeout`` seconds, a lost
    connection, or (with ``mandatory=True``) a message no queue is bound for raises
    ``PublishFailed``, and the outbox tries again later. While the broker is away it fails
    at once, and the publisher reconnects in the background.

    While at least 16 publishes await their confirms (a relay delivering with
    ``DeliverySettings.concurrency`` of 16 or more), the messages written within
    ``coalesce_window`` seconds leave in one send to the socket instead of one send each;
    a publisher less busy writes each message at once. 0 turns it off.

    It is a background service: ``ApplicationBuilder.publish_cloudevents(AmqpPublisher(url))``
    starts and stops it with the application. Outside one, use ``async with``.
    """

    def __init__(
        self,
        url: str,
        exchange: str = DEFAULT_EXCHANGE,
        *,
        mode: Mode = "structured",
        mandatory: bool = False,
        confirm_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 10.0,
        coalesce_window: float = 0.001,
    ) -> None:
        if mode not in ("structured", "binary"):
            raise ValueError(f"mode must be 'structured' or 'binary', not {mode!r}")
        if coalesce_window < 0:
            raise ValueError(f"coalesce_window must be 0 or more seconds, not {coalesce_window}")
        self._outstanding = 0  # publishes awaiting their confirm
        self._exchange_name = exchange
        self._mode: Mode = mode
        self._mandatory = mandatory
        self._confirm_timeout = confirm_timeout
        self._channel: aiormq.Channel | None = None  # aio-pika's channel's, underneath
        self._link = Link(
            url,
            name=f"publisher to {exchange}",
            on_open=self._declare,
            reconnect_delay=reconnect_delay,
            max_reconnect_delay=max_reconnect_delay,
            connect_timeout=connect_timeout,
            transport=(
                CoalescingTransportFactory(window=coalesce_window, busy=self._busy)
                if coalesce_window > 0
                else None
            ),
        )

    @property
    def exchange(self) -> str:
        """The name of the exchange events are published to."""
        return self._exchange_name

    @property
    def connected(self) -> bool:
        """Whether the publisher holds an open channel right now."""
        return self._link.channel is not None

    async def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` seconds for a connection; whether there is one."""
        return await self._link.wait_open(timeout)

    async def start(self) -> None:
        """Connect and declare the exchange; keep reconnecting in the background.

        A broker that is away does not stop the start (publishes fail until it is back);
        a refusal retrying cannot fix, such as bad credentials, raises
        ``ConfigurationError``.
        """
        await self._link.start()

    async def stop(self) -> None:
        """Close the connection; publishes fail from now on."""
        await self._link.stop()

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """Publish ``events`` and wait until RabbitMQ confirmed each of them.

        Raises ``PublishFailed`` if any was not confirmed (the others may have been: the
        outbox sends them again with the same ids), and ``PublishRefused`` for an event
        that cannot be encoded.
        """
        if not events:
            return
        messages = [(event, to_message(event, self._mode)) for event in events]
        channel = self._channel
        if not self._link.started:
            raise PublishFailed(
                f"the publisher to {self._link.url} is not started: start the application "
                f"that publishes through it, or the publisher itself"
            )
        if self._link.channel is None or channel is None:
            raise PublishFailed(
                f"not connected to RabbitMQ at {self._link.url}; reconnecting in the background"
            )
        if len(messages) == 1:  # the relay's usual case: no task to gather
            event, message = messages[0]
            try:
                await self._publish_one(channel, event, message)
            except PublishFailed as error:
                raise PublishFailed(
                    f"1 of 1 event(s) was not confirmed by RabbitMQ at {self._link.url}: {error}"
                ) from error
            return
        results = await asyncio.gather(
            *(self._publish_one(channel, event, message) for event, message in messages),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
        failures = [result for result in results if isinstance(result, Exception)]
        if failures:
            raise PublishFailed(
                f"{len(failures)} of {len(events)} event(s) were not confirmed by RabbitMQ "
                f"at {self._link.url}: {failures[0]}"
            ) from failures[0]

    def _busy(self) -> bool:
        """Whether enough publishes await their confirms that writes should be held."""
        return self._outstanding >= _BUSY

    async def _publish_one(
        self, channel: aiormq.Channel, event: CloudEvent, message: OutgoingMessage
    ) -> None:
        event_type = event.get_type()
        self._outstanding += 1
        try:
            # the timeout covers the whole publish, the broker's confirm included
            confirmation = await channel.basic_publish(
                message.body,
                exchange=self._exchange_name,
                routing_key=event_type,
                properties=message.properties,
                mandatory=self._mandatory,
                timeout=self._confirm_timeout,
                wait=False,
            )
        except TimeoutError as error:
            raise PublishFailed(
                f"{event_type} {event.get_id()}: no confirm within {self._confirm_timeout} s"
            ) from error
        except aiormq.exceptions.PublishError as error:
            raise PublishFailed(
                f"{event_type} {event.get_id()}: returned unroutable (no queue is bound "
                f"for {event_type} on {self._exchange_name})"
            ) from error
        except aiormq.exceptions.DeliveryError as error:
            raise PublishFailed(f"{event_type} {event.get_id()}: nacked by RabbitMQ") from error
        except (aiormq.exceptions.AMQPError, RuntimeError, ConnectionError, OSError) as error:
            # channel or connection lost, or the exchange deleted under us (404)
            raise PublishFailed(
                f"{event_type} {event.get_id()}: {type(error).__name__}: {error}"
            ) from error
        finally:
            self._outstanding -= 1
        if not isinstance(confirmation, aiormq.spec.Basic.Ack):
            raise PublishFailed(
                f"{event_type} {event.get_id()}: RabbitMQ answered {confirmation!r}, not an ack"
            )

    async def _declare(self, channel: AbstractChannel) -> None:
        await declare_events_exchange(channel, self._exchange_name)
        underlay = await channel.get_underlay_channel()
        assert isinstance(underlay, aiormq.Channel)  # aio-pika's channels are aiormq's
        self._channel = underlay

    async def __aenter__(self) -> AmqpPublisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
