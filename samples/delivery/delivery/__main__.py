"""``python -m delivery``: run the delivery service, or list the open deliveries.

::

    python -m delivery                # = run: consume the pizzeria's events until Ctrl-C
    python -m delivery run --broker-url amqp://guest:guest@rabbit:5672/ --queue delivery.events
    python -m delivery open           # the deliveries still to make

Every option has a ``DELIVERY_*`` environment variable (see ``delivery.settings``).
``run`` prints each event it acts on; RabbitMQ being away is not fatal (the consumer
reconnects), bad credentials are.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence

from delivery.app import consumer_of, create_app
from delivery.board import DeliveryView
from delivery.queries import OpenDeliveries
from delivery.settings import DeliveryServiceSettings, masked
from delivery.telemetry import delivery_telemetry
from facta import ConfigurationError

__all__ = ["main"]

_COMMANDS = ("run", "open")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m delivery",
        description="Mario's delivery service: plans deliveries from the pizzeria's events.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{run,open}")
    run = commands.add_parser("run", help="consume the pizzeria's events until Ctrl-C (default)")
    run.add_argument("--broker-url", help="RabbitMQ (default: $DELIVERY_BROKER_URL, else local)")
    run.add_argument("--exchange", help="the events exchange (default: facta.events)")
    run.add_argument("--queue", help="the service's queue (default: delivery.events)")
    listing = commands.add_parser("open", help="list the deliveries still to make")
    for command in (run, listing):
        command.add_argument(
            "--database-url", help="where deliveries are kept (default: sqlite:///delivery.db)"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*_COMMANDS, "-h", "--help"):
        arguments.insert(0, "run")
    parsed = _parser().parse_args(arguments)
    overrides = {
        name: getattr(parsed, name, None)
        for name in ("database_url", "broker_url", "exchange", "queue")
    }
    try:
        settings = DeliveryServiceSettings.from_env(**overrides)
        if parsed.command == "open":
            return asyncio.run(list_open(settings))
        return asyncio.run(run(settings))
    except ConfigurationError as error:
        print(f"python -m delivery: {error}", file=sys.stderr)
        return 2


async def run(settings: DeliveryServiceSettings) -> int:
    """Consume until SIGINT (Ctrl-C) or SIGTERM, logging what is received to stdout."""
    _print_the_delivery_log()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    telemetry = delivery_telemetry(settings)
    app = create_app(settings, instrumentation=None if telemetry is None else telemetry[0])
    consumer = consumer_of(app)
    assert consumer is not None
    print(
        f"delivery service: deliveries in {masked(settings.database_url)}; consuming "
        f"{settings.queue} (bound to {settings.exchange} for {', '.join(consumer.event_types)}) "
        f"at {masked(settings.broker_url)}; refused messages go to {consumer.dead_letter_queue}",
        flush=True,
    )
    async with app:
        if not await consumer.wait_connected(5):
            print(
                f"RabbitMQ at {masked(settings.broker_url)} is not reachable yet; retrying",
                file=sys.stderr,
                flush=True,
            )
        print("ready; Ctrl-C to stop", flush=True)
        await stop.wait()
        print("stopping", flush=True)
    if telemetry is not None:
        telemetry[1]()  # export what is buffered
    stats = consumer.stats
    print(
        f"stopped: {stats.handled} handled, {stats.duplicates} duplicates, "
        f"{stats.dead_lettered} dead-lettered",
        flush=True,
    )
    return 0


async def list_open(settings: DeliveryServiceSettings) -> int:
    """Print the open deliveries, oldest order first."""
    app = create_app(settings, consume=False)
    async with app:
        deliveries = await app.mediator.query(OpenDeliveries())
    if not deliveries:
        print("no open deliveries")
    else:
        print(f"{len(deliveries)} open deliveries, the oldest order first:")
    for delivery in deliveries:
        print(describe(delivery))
    return 0


def describe(delivery: DeliveryView) -> str:
    """One delivery on one line, as ``open`` prints it."""
    parcels = ", ".join(str(parcel) for parcel in delivery.parcels)
    return (
        f"{delivery.order_id}  ordered {delivery.ordered_at:%Y-%m-%d %H:%M} UTC  "
        f"{delivery.customer_name} ({delivery.phone}), {delivery.address}: {parcels}; "
        f"collect {delivery.amount_due} {delivery.currency}"
    )


def _print_the_delivery_log() -> None:
    """The ``delivery`` logger to stdout (what the service does), facta's warnings to stderr."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log = logging.getLogger("delivery")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


if __name__ == "__main__":
    sys.exit(main())
