"""The RabbitMQ objects facta uses, and how they are declared.

```
publisher --(routing key = CloudEvent type)--> [facta.events]  topic exchange, durable
                                                   | one binding per accepted type
                                                   v
                                         [<queue>]  durable queue of one service
                                                   | dead letters (x-dead-letter-exchange)
                                                   v
                                         [<queue>.dlx]  fanout exchange, durable
                                                   v
                                         [<queue>.dead]  durable queue, for an operator
```

Every declaration is idempotent and repeated on each (re)connection, so a broker that
lost its definitions gets them back. Bindings are only ever added: AMQP cannot list a
queue's bindings, so a binding for a type the service no longer accepts stays until an
operator removes it (its events are then dead-lettered as ``UnknownEventType``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

__all__ = ["DEFAULT_EXCHANGE", "QueueTopology", "declare_events_exchange"]

DEFAULT_EXCHANGE = "facta.events"


async def declare_events_exchange(channel: AbstractChannel, name: str) -> AbstractExchange:
    """The durable topic exchange CloudEvents are published to, routed by their type."""
    return await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)


@dataclass(frozen=True, slots=True)
class QueueTopology:
    """A service's queue on the events exchange, with its dead-letter exchange and queue."""

    exchange: str
    queue: str

    @property
    def dead_letter_exchange(self) -> str:
        """Where messages the service gives up on go: ``<queue>.dlx``."""
        return f"{self.queue}.dlx"

    @property
    def dead_letter_queue(self) -> str:
        """Where they stay for an operator: ``<queue>.dead``."""
        return f"{self.queue}.dead"

    async def declare(
        self, channel: AbstractChannel, event_types: Iterable[str]
    ) -> tuple[AbstractQueue, AbstractExchange]:
        """Declare everything and bind the queue to each type; the queue and the DLX."""
        exchange = await declare_events_exchange(channel, self.exchange)
        dead_letters = await channel.declare_exchange(
            self.dead_letter_exchange, aio_pika.ExchangeType.FANOUT, durable=True
        )
        dead_queue = await channel.declare_queue(self.dead_letter_queue, durable=True)
        await dead_queue.bind(dead_letters, routing_key="")
        queue = await channel.declare_queue(
            self.queue,
            durable=True,
            arguments={"x-dead-letter-exchange": self.dead_letter_exchange},
        )
        for event_type in sorted(set(event_types)):
            await queue.bind(exchange, routing_key=event_type)
        return queue, dead_letters
