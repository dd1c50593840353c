"""Real HTTP servers for the HTTP tests: uvicorn on 127.0.0.1, a recording sink, a consuming
service behind the ingestion endpoint, and the CloudEvents 1.0 conformance checks.

``serve(asgi_app)`` runs a real uvicorn server on a free port in the test's event loop;
``Sink`` is an ASGI app that records every request and answers as it is told (a status,
or hanging past the publisher's timeout), like a flaky downstream service.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn

from conftest import Backend, sql_backend
from facta import (
    Application,
    ApplicationBuilder,
    Envelope,
    InMemoryPersistence,
    InMemoryStore,
    IntegrationEvent,
    IntegrationEventHandler,
    Outbox,
    UnitOfWork,
)
from facta.integration.cloudevents import (
    CloudEvent,
    read_http,
    read_structured,
    to_binary_http,
    to_structured,
)
from facta.integration.publishers import Publisher
from support.shop import LOYALTY, SHOP, OrderPlacedV2, Points

PROBLEM = "application/problem+json"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
SCHEMA_PATH = Path(__file__).parents[2].parent / "shared" / "data" / "cloudevents-1.0.schema.json"
STANDARD_ATTRIBUTES = {"id", "source", "type", "specversion", "subject", "time", "dataschema"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@asynccontextmanager
async def serve(app: ASGIApp | Any, *, lifespan: bool = False) -> AsyncIterator[str]:
    """Run ``app`` on a real uvicorn server on 127.0.0.1 (a free port); yield its base URL.

    With ``lifespan`` the server runs the app's startup and shutdown (``web_app`` starts
    and stops the facta application in them)."""
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that name it, and
    # without it every response waits out a delayed ACK (about 40 ms)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="on" if lifespan else "off",
        timeout_graceful_shutdown=1,
        timeout_keep_alive=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


def free_port_url() -> str:
    """The URL of a port on 127.0.0.1 that nothing listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/events"


Answer = int | str  # a status code, or "hang" (answer 202 after hanging past a timeout)


@dataclass
class Received:
    """One request the sink received, and how it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    answer: Answer

    @property
    def accepted(self) -> bool:
        return isinstance(self.answer, int) and 200 <= self.answer < 300

    def events(self) -> list[CloudEvent]:
        """The CloudEvents in this request, parsed by facta's reader (every mode)."""
        return read_http(self.headers, self.body)


@dataclass
class Sink:
    """A recording HTTP sink: answers from ``script`` first, then ``plan``, else 202.

    ``plan`` is an endless iterator of answers (a cycle of failures and successes, say);
    ``"hang"`` sleeps ``hang_for`` seconds before answering, to make a client time out.
    """

    script: deque[Answer] = field(default_factory=deque)
    plan: Iterable[Answer] | None = None
    hang_for: float = 1.0
    answer_body: bytes = b'{"title": "the sink refused the event"}'
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._plan = iter(self.plan) if self.plan is not None else None

    def answer_next(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order."""
        self.script.extend(answers)

    def cycle(self, *answers: Answer) -> None:
        """From now on, answer with these over and over (after the script)."""
        self._plan = itertools.cycle(answers)

    def recover(self) -> None:
        """Accept everything from now on."""
        self.script.clear()
        self._plan = None

    @property
    def accepted(self) -> list[CloudEvent]:
        """Every event of every request that was answered 2xx (duplicates included)."""
        return [
            event for request in self.requests if request.accepted for event in request.events()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.script:
            answer = self.script.popleft()
        elif self._plan is not None:
            answer = next(self._plan)
        else:
            answer = 202
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        self.requests.append(Received(scope["method"], scope["path"], headers, body, answer))
        if answer == "hang":
            await asyncio.sleep(self.hang_for)
            answer = 202
        assert isinstance(answer, int)
        payload = b"" if 200 <= answer < 300 else self.answer_body
        await send(
            {
                "type": "http.response.start",
                "status": answer,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def assert_problem(response: httpx.Response, status: int, problem_type: str) -> dict[str, Any]:
    """Check that ``response`` is a problem+json answer of ``status`` and ``problem_type``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"] == problem_type
    assert problem["title"]
    return problem


def cloudevents_schema() -> dict[str, Any]:
    """The CloudEvents 1.0 JSON schema from shared/data, or skip naming where it should be."""
    if not SCHEMA_PATH.exists():
        pytest.skip(
            f"the CloudEvents JSON schema is not at {SCHEMA_PATH} (clone the repo with "
            f"shared/ beside it)"
        )
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text())
    return schema


def assert_matches_schema(document: dict[str, Any], schema: dict[str, Any]) -> None:
    """Validate a structured event against the spec's draft-07 schema, formats included."""
    import jsonschema

    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    errors = [error.message for error in validator.iter_errors(document)]
    assert errors == [], errors


def assert_keeps_the_rules_the_schema_cannot_check(document: dict[str, Any]) -> None:
    """What CloudEvents 1.0 requires beyond its JSON schema (see shared/data/README.md),
    and a lossless round trip through the SDK's parser."""
    assert document["specversion"] == "1.0"
    assert not ("data" in document and "data_base64" in document)
    for name in set(document) - STANDARD_ATTRIBUTES - {"datacontenttype", "data", "data_base64"}:
        assert re.fullmatch(r"[a-z0-9]{1,20}", name), name
    event = read_structured(json.dumps(document))
    parsed = read_structured(to_structured(event))
    assert parsed.get_attributes() == event.get_attributes()
    assert parsed.get_data() == event.get_data()


# --- a consuming service: the loyalty side of the shop, behind the ingestion endpoint ----


class ParcelSentV1(IntegrationEvent):
    """A type whose handler always fails (after writing), with a secret in its error."""

    cloudevent_type: ClassVar[str] = "com.example.post.parcel.sent.v1"
    parcel_id: str


class RecordParcel(IntegrationEventHandler[ParcelSentV1]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.points = uow.repository(Points)

    async def handle(self, data: ParcelSentV1, envelope: Envelope) -> None:
        self.points.add(Points(id=data.parcel_id, customer=data.parcel_id))
        raise RuntimeError("cannot reach the ledger with password hunter2")


MAX_BODY_SIZE = 64 * 1024
HTTP_BACKENDS = ["memory", "sqlite"]
"""The back-ends the HTTP tests run on: HTTP is the subject, the stores are proven elsewhere."""


@asynccontextmanager
async def http_backend(name: str, tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh in-memory or SQLite back-end (see ``HTTP_BACKENDS``)."""
    if name == "memory":
        store = InMemoryStore()
        yield Backend("memory", lambda: InMemoryPersistence(store))
        return
    async with sql_backend(name, f"sqlite:///{tmp_path / 'facta.db'}", True) as backend:
        yield backend


@dataclass
class Service:
    """A facta application behind a real ingestion endpoint, and a client for it."""

    app: Application
    backend: Backend
    url: str
    client: httpx.AsyncClient

    async def post(self, body: object, mode: str = "structured") -> httpx.Response:
        """POST one event document (or a list, in batch mode) in a content mode."""
        if mode == "batch":
            documents = body if isinstance(body, list) else [body]
            content = json.dumps(documents).encode()
            headers = {"content-type": "application/cloudevents-batch+json"}
        elif mode == "binary":
            headers, content = to_binary_http(read_structured(json.dumps(body)))
        else:
            content = json.dumps(body).encode()
            headers = {"content-type": "application/cloudevents+json"}
        return await self.client.post("/events", content=content, headers=headers)

    async def written(self) -> int:
        """How many rows (or in-memory records) the application's store holds."""
        if self.backend.name == "memory":
            store = self.app.get(InMemoryStore)
            outbox: Outbox = self.app.get(Outbox)  # type: ignore[type-abstract]
            receipts = await outbox.deliveries(limit=100_000)
            return len(store.events) + len(store.ids("Points")) + len(receipts)
        assert self.backend.engine is not None, f"no row count for {self.backend.name}"
        from sqlalchemy import func, select

        from facta.persistence.sqlalchemy import metadata

        total = 0
        async with self.backend.engine.connect() as connection:
            for table in metadata.sorted_tables:
                count = select(func.count()).select_from(table)
                total += (await connection.execute(count)).scalar_one()
        return total


@asynccontextmanager
async def running(
    backend: Backend | None, *, allowed_origins: Iterable[str] | None = None
) -> AsyncIterator[Service]:
    """The loyalty service on ``backend`` (in memory when None), served on 127.0.0.1."""
    from fastapi import FastAPI

    from facta.hosting.web import cloudevents_router

    backend = backend or Backend("memory", InMemoryPersistence)
    app = (
        ApplicationBuilder()
        .add_handler(*LOYALTY, RecordParcel)
        .use_persistence(backend.persistence())
        .build()
    )
    api = FastAPI()
    api.include_router(
        cloudevents_router(
            app,
            max_body_size=MAX_BODY_SIZE,
            allowed_origins=None if allowed_origins is None else set(allowed_origins),
        )
    )
    # the client lets an idle connection go before the server's keep-alive timeout (1 s)
    # would close it: otherwise, on a loaded machine, a request can be sent on a
    # connection the server is closing ("Server disconnected without sending a response")
    limits = httpx.Limits(keepalive_expiry=0.5)
    async with (
        app,
        serve(api) as url,
        httpx.AsyncClient(base_url=url, limits=limits) as client,
    ):
        yield Service(app, backend, url, client)


@asynccontextmanager
async def shop(
    publisher: Publisher, dataschema_base: str | None = None
) -> AsyncIterator[Application]:
    """The producing shop, in memory, publishing through ``publisher``; started and stopped."""
    app = (
        ApplicationBuilder()
        .add_handler(*SHOP)
        .publish_cloudevents(publisher, dataschema_base=dataschema_base)
        .build()
    )
    async with app:
        yield app


def document(
    event_id: str = "evt-1",
    *,
    event_type: str = OrderPlacedV2.cloudevent_type,
    data: object = None,
    order_id: str = "o-1",
) -> dict[str, Any]:
    """A structured CloudEvent of the shop (an order placed, v2 unless told)."""
    if data is None:
        data = {"order_id": order_id, "customer": "ann", "total": "12.50", "currency": "EUR"}
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/shop/orders",
        "type": event_type,
        "time": "2026-11-22T10:00:00Z",
        "datacontenttype": "application/json",
        "data": data,
    }


async def points(app: Application, customer: str = "ann") -> Points | None:
    """The loyalty account of ``customer``, if one was committed."""
    async with app.operation():
        return await app.get(UnitOfWork).repository(Points).find(customer)  # type: ignore[type-abstract]
