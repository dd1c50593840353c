"""Liveness and readiness of the web hosting: ready when the database and the broker
answer and the relay keeps up; unready, with the reason, when one of them does not.

The database and the broker are reached through a TCP proxy of the test's own
(``support.proxy``): stopping it takes them away for this application only, never for the
other developers who share the machine's PostgreSQL and RabbitMQ.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from facta import Application, ApplicationBuilder, DeliverySettings
from facta.hosting import Readiness
from facta.hosting.web.application import web_app
from facta.integration.publishers import InMemoryPublisher
from integration.amqp_support import Broker
from support.proxy import TcpProxy
from support.services import postgres_database
from support.shop import SHOP, PlaceOrder

DEADLINE = 20.0


@asynccontextmanager
async def serving(
    app: Application, readiness: Readiness | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """``app`` behind ``web_app``, started, and a client of it."""
    api = web_app(app, readiness=readiness)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def readiness_becomes(client: httpx.AsyncClient, status: int) -> dict[str, Any]:
    """The readiness answer once its status is ``status`` (polled)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        answer = await client.get("/health/ready")
        if answer.status_code == status:
            body: dict[str, Any] = answer.json()
            return body
        assert time.monotonic() < deadline, f"readiness stayed {answer.json()}"
        await asyncio.sleep(0.1)


def through(proxy: TcpProxy, url: str) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    return urlunsplit(parts._replace(netloc=f"{credentials}127.0.0.1:{proxy.port}"))


async def test_liveness_answers_as_long_as_the_process_serves() -> None:
    async with serving(ApplicationBuilder().add_handler(*SHOP).build()) as client:
        answer = await client.get("/health/live")

    assert (answer.status_code, answer.json()) == (200, {"status": "alive"})


async def test_an_application_whose_database_answers_is_ready() -> None:
    async with serving(ApplicationBuilder().add_handler(*SHOP).build()) as client:
        answer = await client.get("/health/ready")

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": {"status": "up", "detail": ""}},
    }


async def test_an_application_whose_relay_is_further_behind_than_allowed_is_unready() -> None:
    publisher = InMemoryPublisher()
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(publisher)
        .delivery(DeliverySettings(grace=timedelta(hours=1)))
        .build()
    )
    readiness = Readiness(max_relay_lag=timedelta(milliseconds=50))
    async with serving(app, readiness) as client:
        assert (await client.get("/health/ready")).status_code == 200
        publisher.fail_next()  # the event stays in the outbox, and nobody relays it
        await app.mediator.send(PlaceOrder(order_id="o-1", customer="ann", total_cents=100))

        body = await readiness_becomes(client, 503)

    assert body["status"] == "unready"
    assert body["checks"]["relay"]["status"] == "down"
    assert "more than 0.05 s" in body["checks"]["relay"]["detail"]


async def test_unready_while_the_database_is_unreachable_and_ready_when_it_returns() -> None:
    from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_engine, create_schema

    with postgres_database() as url:
        engine = create_engine(url)
        await create_schema(engine)
        await engine.dispose()
        host, port = urlsplit(url).hostname or "127.0.0.1", urlsplit(url).port or 5432
        async with TcpProxy.running(host, port) as proxy:
            app = (
                ApplicationBuilder()
                .add_handler(*SHOP)
                .use_persistence(SqlAlchemyPersistence(through(proxy, url)))
                .build()
            )
            async with serving(app, Readiness(timeout=2)) as client:
                await readiness_becomes(client, 200)

                await proxy.stop()
                down = await readiness_becomes(client, 503)
                await proxy.start()
                back = await readiness_becomes(client, 200)

    assert down["checks"]["database"]["status"] == "down"
    assert down["checks"]["database"]["detail"]
    assert back["checks"]["database"]["status"] == "up"


async def test_unready_while_the_broker_is_unreachable_and_ready_when_it_returns() -> None:
    from facta.integration.amqp import AmqpPublisher

    async with Broker.open() as broker:
        target = urlsplit(broker.url)
        async with TcpProxy.running(target.hostname or "127.0.0.1", target.port or 5672) as proxy:
            publisher = AmqpPublisher(
                through(proxy, broker.url),
                broker.name("events"),
                reconnect_delay=0.1,
                max_reconnect_delay=0.5,
            )
            app = ApplicationBuilder().add_handler(*SHOP).publish_cloudevents(publisher).build()
            async with serving(app) as client:
                assert await publisher.wait_connected(10)
                up = await readiness_becomes(client, 200)

                await proxy.stop()
                down = await readiness_becomes(client, 503)
                await proxy.start()
                back = await readiness_becomes(client, 200)

    name = f"AmqpPublisher {publisher.exchange}"
    assert up["checks"][name] == {"status": "up", "detail": "connected"}
    assert down["checks"][name] == {"status": "down", "detail": "not connected"}
    assert down["checks"]["database"]["status"] == "up"
    assert back["checks"][name]["status"] == "up"
