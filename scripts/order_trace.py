"""Renders the trace of one placed order for the docs: ``docs/guides/order-trace.txt``.

Runs the pizzeria's web service and the delivery service over the RabbitMQ of the tests
(127.0.0.1:5672, or FACTA_TEST_AMQP_URL), places one order with ``POST /orders``, and
draws the spans both services exported (in memory) as a tree with their timings::

    .venv/bin/python scripts/order_trace.py

``samples/delivery/tests/test_order_trace.py`` checks that the file's tree is the one a
placed order gives.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from facta.hosting.telemetry import render_waterfall  # noqa: E402
from integration.amqp_support import Broker  # noqa: E402
from support.order_trace import place_one_order  # noqa: E402
from support.telemetry import trace_id  # noqa: E402

OUTPUT = ROOT / "docs" / "guides" / "order-trace.txt"


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="order-trace-") as folder:
        async with Broker.open() as broker:
            traced = await place_one_order(
                broker.url, broker.name("events"), broker.name("delivery.events"), Path(folder)
            )
    request = traced.pizzeria.span("POST /orders")
    spans = [
        span
        for span in (*traced.pizzeria.spans, *traced.delivery.spans)
        if trace_id(span) == trace_id(request)
    ]
    OUTPUT.write_text(render_waterfall(spans))
    print(OUTPUT.read_text(), end="")


if __name__ == "__main__":
    asyncio.run(main())
