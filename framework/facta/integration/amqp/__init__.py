"""RabbitMQ for integration events (``pip install facta[amqp]``), on aio-pika.

``AmqpPublisher`` publishes the CloudEvents of an application to a durable topic
exchange (routing key: the event's type), each message confirmed by the broker;
``AmqpConsumer`` feeds an application's integration event handlers from its own queue,
bound for exactly the types it accepts, with a dead-letter queue for what it refuses.
Both reconnect after the broker goes away and are background services::

    app = (
        ApplicationBuilder()
        .scan("orders")
        .publish_cloudevents(AmqpPublisher("amqp://guest:guest@localhost/"))
        .add_service(OutboxRelay)
        .build()
    )
    loyalty = ApplicationBuilder().scan("loyalty").build()
    async with app, loyalty, AmqpConsumer(loyalty, URL, queue="loyalty.events"):
        ...
"""

try:
    import aio_pika  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("amqp", missing.name or "aio_pika") from missing

from facta.integration.amqp.codec import Mode, read_message, to_message
from facta.integration.amqp.consumer import AmqpConsumer, ConsumerStats, HasIngestor
from facta.integration.amqp.dead_letters import REASON_HEADER
from facta.integration.amqp.decisions import Action, Decision, DeliveryPolicy
from facta.integration.amqp.publisher import AmqpPublisher
from facta.integration.amqp.topology import DEFAULT_EXCHANGE, QueueTopology

__all__ = [
    "DEFAULT_EXCHANGE",
    "REASON_HEADER",
    "Action",
    "AmqpConsumer",
    "AmqpPublisher",
    "ConsumerStats",
    "Decision",
    "DeliveryPolicy",
    "HasIngestor",
    "Mode",
    "QueueTopology",
    "read_message",
    "to_message",
]
