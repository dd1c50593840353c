"""Consuming CloudEvents from RabbitMQ into an application's integration event handlers.

Each message is acknowledged only after its fate is settled (``DeliveryPolicy`` in
``facta.integration.amqp.decisions`` decides):

- handled, or already handled (the inbox knows its ``source`` and ``id``): ack;
- bad input (not a CloudEvent, over the ``IngestionLimits``, an attribute outside the
  CloudEvents type system, a type the service does not accept, data that does not fit
  the contract) or a handler's permanent refusal (``PermanentFailure``): dead-lettered
  at once, never retried;
- a handler failed otherwise, or the store is down: requeued after a pause, up to
  ``max_attempts`` deliveries, then dead-lettered; a ``ConcurrencyError`` (another
  writer was first) is requeued without a pause.

Dead-lettering publishes a copy of the message to ``<queue>.dlx`` (confirmed) and then
acks the original, so that the copy can say why in ``x-facta-reason`` (see
``facta.integration.amqp.dead_letters``): RabbitMQ's own dead-lettering, a reject, only
records ``x-death``. The queue is also declared with ``<queue>.dlx`` as its dead-letter
exchange, for what the broker dead-letters itself (TTLs, length limits). If the copy
cannot be published, the message is requeued instead: it is never dropped.

Attempts are counted from the ``x-delivery-count`` header where the broker sets one
(quorum queues), otherwise in this process (a restart starts the count again).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, fields
from types import TracebackType
from typing import Protocol

from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
)

from facta.application.ports.outbox import describe_error
from facta.errors import ConfigurationError
from facta.integration.amqp.connection import Link
from facta.integration.amqp.dead_letters import dead_letter_copy
from facta.integration.amqp.decisions import Action, DeliveryPolicy
from facta.integration.amqp.topology import DEFAULT_EXCHANGE, QueueTopology
from facta.integration.cloudevents import DEFAULT_LIMITS
from facta.integration.ingestion import Ingestor
from facta.integration.limits import IngestionLimits

__all__ = ["AmqpConsumer", "ConsumerStats", "HasIngestor"]

_log = logging.getLogger("facta.amqp")
_REMEMBERED_FAILURES = 10_000


class HasIngestor(Protocol):
    """What a consumer needs of an application: its ``ingestor`` (``Application`` has one)."""

    @property
    def ingestor(self) -> Ingestor:
        """Validates incoming CloudEvents and runs their handlers once per event."""
        ...


@dataclass(frozen=True, slots=True)
class ConsumerStats:
    """What a consumer did with the messages it received, since it was created.

    ``received`` counts deliveries (redeliveries too); ``handled`` messages were acked
    after a handler ran, ``duplicates`` were acked because every handler had already
    processed the event (the inbox); ``retried`` were requeued after a failure,
    ``dead_lettered`` went to the dead-letter queue; ``in_flight`` are in hand now.
    """

    received: int = 0
    handled: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0
    in_flight: int = 0


@dataclass(slots=True)
class _Counts:
    received: int = 0
    handled: int = 0
    duplicates: int = 0
    retried: int = 0
    dead_lettered: int = 0


class AmqpConsumer:
    """Feeds an application's integration event handlers from its RabbitMQ queue.

    On each connection it declares the durable ``queue``, binds it to ``exchange`` for
    exactly the CloudEvent types the application accepts (``app.ingestor.accepted_types``,
    older versions included where an upcaster takes them), declares the dead-letter
    exchange ``<queue>.dlx`` and queue ``<queue>.dead``, and consumes with manual acks,
    ``prefetch`` messages at a time (use 1 to handle them strictly one after another).

    A failed message is requeued after ``retry_delay`` seconds, doubling per attempt up
    to ``max_retry_delay``, until it was delivered ``max_attempts`` times; then it is
    dead-lettered with the reason. Bad input is dead-lettered at once. ``limits`` caps
    each message's body size and JSON nesting depth (``IngestionLimits()``: 1 MiB, 64
    levels). Nothing a message contains can stop the consumer.

    It is a background service: start it with the application, or use ``async with``.
    ``stop()`` stops consuming, waits up to ``stop_timeout`` seconds for the messages in
    hand (unfinished ones are redelivered), and closes the connection.
    """

    def __init__(
        self,
        app: HasIngestor,
        url: str,
        *,
        queue: str,
        exchange: str = DEFAULT_EXCHANGE,
        prefetch: int = 16,
        max_attempts: int = 5,
        retry_delay: float = 1.0,
        max_retry_delay: float = 30.0,
        confirm_timeout: float = 10.0,
        stop_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        reconnect_delay: float = 0.5,
        max_reconnect_delay: float = 10.0,
        limits: IngestionLimits = DEFAULT_LIMITS,
    ) -> None:
        if prefetch < 1 or max_attempts < 1:
            raise ValueError("prefetch and max_attempts must be at least 1")
        self._policy = DeliveryPolicy(limits, max_attempts, retry_delay, max_retry_delay)
        self._ingestor = app.ingestor
        self._types = tuple(sorted(self._ingestor.accepted_types))
        if not self._types:
            raise ConfigurationError(
                f"the application accepts no CloudEvent type, so queue {queue!r} would "
                f"receive nothing: add an IntegrationEventHandler for each type to consume"
            )
        self._topology = QueueTopology(exchange, queue)
        self._prefetch = prefetch
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._confirm_timeout = confirm_timeout
        self._stop_timeout = stop_timeout
        self._counts = _Counts()
        self._failures: OrderedDict[tuple[str, str, str], int] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()
        self._dead_letters: AbstractExchange | None = None
        self._consuming: tuple[AbstractQueue, str] | None = None
        self._link = Link(
            url,
            name=f"consumer of {queue}",
            on_open=self._open,
            reconnect_delay=reconnect_delay,
            max_reconnect_delay=max_reconnect_delay,
            connect_timeout=connect_timeout,
        )

    @property
    def queue(self) -> str:
        """The service's queue."""
        return self._topology.queue

    @property
    def dead_letter_exchange(self) -> str:
        """The exchange dead letters are published to: ``<queue>.dlx``."""
        return self._topology.dead_letter_exchange

    @property
    def dead_letter_queue(self) -> str:
        """The queue dead letters wait in: ``<queue>.dead``."""
        return self._topology.dead_letter_queue

    @property
    def event_types(self) -> tuple[str, ...]:
        """The CloudEvent types the queue is bound for."""
        return self._types

    @property
    def connected(self) -> bool:
        """Whether the consumer holds an open channel right now."""
        return self._link.channel is not None

    @property
    def stats(self) -> ConsumerStats:
        """A snapshot of what the consumer did so far."""
        counts = {field.name: getattr(self._counts, field.name) for field in fields(self._counts)}
        return ConsumerStats(**counts, in_flight=len(self._tasks))

    async def wait_connected(self, timeout: float = 10.0) -> bool:
        """Wait up to ``timeout`` seconds for a connection; whether there is one."""
        return await self._link.wait_open(timeout)

    async def start(self) -> None:
        """Connect, declare the topology and start consuming; reconnect in the background.

        A broker that is away does not stop the start; a refusal retrying cannot fix
        (bad credentials, a queue that exists with other arguments) raises
        ``ConfigurationError``.
        """
        self._stopping.clear()
        await self._link.start()

    async def stop(self) -> None:
        """Stop consuming, finish the messages in hand, and close the connection."""
        self._stopping.set()
        consuming, self._consuming = self._consuming, None
        if consuming is not None and self._link.channel is not None:
            queue, tag = consuming
            try:
                await asyncio.wait_for(queue.cancel(tag), self._confirm_timeout)
            except Exception as error:  # the channel may be closing already
                _log.debug("cancelling the consumer of %s failed: %s", self.queue, error)
        if self._tasks:
            _, unfinished = await asyncio.wait(set(self._tasks), timeout=self._stop_timeout)
            if unfinished:
                _log.warning(
                    "%d message(s) of %s were still in hand after %s s; RabbitMQ redelivers them",
                    len(unfinished),
                    self.queue,
                    self._stop_timeout,
                )
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
        await self._link.stop()

    async def _open(self, channel: AbstractChannel) -> None:
        await channel.set_qos(prefetch_count=self._prefetch)
        queue, dead_letters = await self._topology.declare(channel, self._types)
        self._dead_letters = dead_letters
        if self._stopping.is_set():
            return
        tag = await queue.consume(self._on_message, no_ack=False)
        self._consuming = (queue, tag)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        # in a task of our own: aio-pika cancels its callbacks when the channel closes,
        # and a handler must not be cut off half-way because the broker went away
        self._counts.received += 1
        task = asyncio.create_task(self._handle(message), name="facta-amqp-message")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        try:
            await self._process(message)
        except Exception:  # nothing a message holds may stop the consumer
            _log.exception(
                "unexpected failure with message %s from %s", message.message_id, self.queue
            )

    @property
    def policy(self) -> DeliveryPolicy:
        """How this consumer settles deliveries (limits, attempts, backoff)."""
        return self._policy

    async def _process(self, message: AbstractIncomingMessage) -> None:
        attempt = self._attempt(message)
        decision = await self._policy.decide(
            self._ingestor, message.content_type, message.headers, message.body, attempt
        )
        key = _key(message)
        if decision.action is Action.ACK:
            self._failures.pop(key, None)
            if await _settle(message.ack()):
                if decision.handled:
                    self._counts.handled += 1
                else:
                    self._counts.duplicates += 1
            return
        assert decision.error is not None
        if decision.action is Action.DEAD_LETTER:
            self._failures.pop(key, None)
            await self._dead_letter(message, decision.error, attempt)
            return
        self._failures[key] = attempt
        self._failures.move_to_end(key)
        while len(self._failures) > _REMEMBERED_FAILURES:
            self._failures.popitem(last=False)
        _log.warning(
            "message %s (%s) from %s failed on attempt %d of %d; requeued in %.1f s: %s",
            message.message_id,
            message.routing_key,
            self.queue,
            attempt,
            self._max_attempts,
            decision.delay,
            describe_error(decision.error, 500),
        )
        await self._pause(decision.delay)
        if await _settle(message.nack(requeue=True)):
            self._counts.retried += 1

    def _attempt(self, message: AbstractIncomingMessage) -> int:
        """Which delivery of ``message`` this is, counting from 1."""
        count = message.headers.get("x-delivery-count")
        if isinstance(count, int) and not isinstance(count, bool):
            return count + 1
        return self._failures.get(_key(message), 0) + 1

    async def _dead_letter(
        self, message: AbstractIncomingMessage, error: Exception, attempts: int
    ) -> None:
        reason = describe_error(error, 1000)
        copy = dead_letter_copy(message, error, reason, attempts, self.queue)
        try:
            if self._dead_letters is None:  # pragma: no cover - declared before consuming
                raise RuntimeError("the dead-letter exchange is not declared")
            async with asyncio.timeout(self._confirm_timeout):
                await self._dead_letters.publish(copy, routing_key=message.routing_key or "")
        except Exception as publish_error:
            _log.error(
                "could not dead-letter message %s from %s to %s (%s); requeued instead",
                message.message_id,
                self.queue,
                self.dead_letter_exchange,
                publish_error,
            )
            await self._pause(self._retry_delay)
            await _settle(message.nack(requeue=True))
            return
        if await _settle(message.ack()):
            self._counts.dead_lettered += 1
            _log.warning(
                "dead-lettered message %s (%s) from %s to %s: %s",
                message.message_id,
                message.routing_key,
                self.queue,
                self.dead_letter_queue,
                reason,
            )

    async def _pause(self, delay: float) -> None:
        """Wait ``delay`` seconds, or less when the consumer is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    async def __aenter__(self) -> AmqpConsumer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


def _key(message: AbstractIncomingMessage) -> tuple[str, str, str]:
    digest = hashlib.blake2b(message.body, digest_size=16).hexdigest()
    return (message.routing_key or "", message.message_id or "", digest)


async def _settle(outcome: Awaitable[None]) -> bool:
    """Ack or nack; False when the channel is gone (RabbitMQ then redelivers the message)."""
    try:
        await outcome
    except Exception as error:
        _log.info("could not settle a message (%s); RabbitMQ will redeliver it", error)
        return False
    return True
