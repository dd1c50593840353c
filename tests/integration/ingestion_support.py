"""Both ways in, side by side, for the ingestion tests of issue 11.

``Inlet`` is one loyalty service in memory, reached over HTTP in process (httpx's ASGI
transport, through facta's real router) and over AMQP through the consumer's decision
path (``DeliveryPolicy.decide``, the code the consumer runs for each delivery, without a
broker); ``written()`` counts everything its store holds, so a refusal can be shown to
store nothing. The ``to_*`` functions put one attribute set in each content mode, as a
sender would: the attributes as they are in JSON, as percent-encoded ``ce-`` headers, or
as typed AMQP headers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from facta import Application, ApplicationBuilder, InMemoryPersistence, InMemoryStore
from facta.integration.amqp import Decision, DeliveryPolicy
from facta.integration.limits import IngestionLimits
from support.shop import LOYALTY

STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
PROBLEM = "application/problem+json"

Message = tuple[str | None, dict[str, Any], bytes]
"""An AMQP message as the consumer sees it: content type, headers, body."""


@asynccontextmanager
async def loyalty_on_sqlite(folder: Path) -> AsyncIterator[Application]:
    """The loyalty side of the shop on a new SQLite file in ``folder``."""
    from sqlalchemy.ext.asyncio import AsyncEngine

    from facta.persistence.sqlalchemy import SqlAlchemyPersistence, create_schema

    app = (
        ApplicationBuilder()
        .add_handler(*LOYALTY)
        .use_persistence(SqlAlchemyPersistence(f"sqlite:///{folder / 'loyalty.db'}"))
        .build()
    )
    await create_schema(app.get(AsyncEngine))
    try:
        yield app
    finally:
        await app.get(AsyncEngine).dispose()


def loyalty_in_memory() -> Application:
    """The loyalty side of the shop on a store of its own."""
    return ApplicationBuilder().add_handler(*LOYALTY).use_persistence(InMemoryPersistence()).build()


async def written(app: Application) -> int:
    """How much ``app``'s in-memory store holds: the versions of its aggregates, plus its
    events. A handler that runs always writes (the shop's loyalty handler changes the
    customer's points), and its inbox receipt is only ever committed with its writes, so
    any change to the store changes this number."""
    store = app.get(InMemoryStore)
    states = (store.state("Points", customer) for customer in store.ids("Points"))
    return sum(state.version for state in states if state is not None) + len(store.events)


@dataclass
class Inlet:
    """One service over HTTP (in process) and one over AMQP (the decision path)."""

    http_app: Application
    client: httpx.AsyncClient
    amqp_app: Application
    policy: DeliveryPolicy

    async def post(self, headers: Mapping[str, str], body: bytes) -> httpx.Response:
        """POST a request to the ingestion endpoint."""
        return await self.client.post("/events", content=body, headers=dict(headers))

    async def deliver(self, message: Message, attempt: int = 1) -> Decision:
        """What the consumer decides for ``message`` on its ``attempt``-th delivery."""
        content_type, headers, body = message
        return await self.policy.decide(
            self.amqp_app.ingestor, content_type, headers, body, attempt
        )


@asynccontextmanager
async def inlet(limits: IngestionLimits | None = None) -> AsyncIterator[Inlet]:
    """Both ways in, each to a loyalty service of its own."""
    from fastapi import FastAPI

    from facta.hosting.web import cloudevents_router

    limits = limits or IngestionLimits()
    http_app, amqp_app = loyalty_in_memory(), loyalty_in_memory()
    api = FastAPI()
    api.include_router(cloudevents_router(http_app, limits=limits))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
        yield Inlet(http_app, client, amqp_app, DeliveryPolicy(limits, max_attempts=5))


# --- one attribute set, in each content mode ------------------------------------------


def http_structured(document: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """One event in the JSON format."""
    return {"content-type": STRUCTURED}, json.dumps(document).encode()


def http_batch(documents: list[Mapping[str, Any]]) -> tuple[dict[str, str], bytes]:
    """Events in the JSON batch format."""
    return {"content-type": BATCH}, json.dumps(documents).encode()


def header_text(value: object) -> str:
    """An attribute value as a header carries it (HTTP, the RabbitMQ binding): text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return quote(value if isinstance(value, str) else json.dumps(value), safe="")


def http_binary(document: Mapping[str, Any]) -> tuple[dict[str, str], bytes]:
    """One event in HTTP binary mode: ``ce-`` headers, the data as the body."""
    headers = {
        f"ce-{name}": header_text(value)
        for name, value in document.items()
        if name not in ("data", "datacontenttype") and value is not None
    }
    headers["content-type"] = str(document.get("datacontenttype") or "application/json")
    return headers, json.dumps(document.get("data")).encode()


def amqp_structured(document: Mapping[str, Any]) -> Message:
    """One event in the JSON format, in an AMQP message."""
    return STRUCTURED, {}, json.dumps(document).encode()


def amqp_binary(document: Mapping[str, Any], prefix: str = "ce-") -> Message:
    """One event in AMQP binary mode: ``ce-`` headers (percent-encoded text, the RabbitMQ
    binding) or ``cloudEvents_``/``cloudEvents:`` properties (typed, the AMQP binding)."""
    headers: dict[str, Any] = {}
    for name, value in document.items():
        if name in ("data", "datacontenttype") or value is None:
            continue
        if prefix == "ce-" and isinstance(value, str):
            headers[f"ce-{name}"] = quote(value, safe="")
        else:
            headers[f"{prefix}{name}"] = value
    content_type = str(document.get("datacontenttype") or "application/json")
    return content_type, headers, json.dumps(document.get("data")).encode()
