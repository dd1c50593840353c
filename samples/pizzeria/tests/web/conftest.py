"""Fixtures of the web service's tests: the app as ``create_web_app`` builds it, in process.

``client`` talks to the app through ``httpx.ASGITransport`` with its lifespan running
(tables, relay, the menu on sale); ``application`` is the facta application behind it.
The back-end is in memory unless a test is marked ``backends(...)`` (see the parent
conftest). ``open_events`` reads the board's Server-Sent Events in process, since
``ASGITransport`` waits for a whole response and an event stream never ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from facta import Application
from pizzeria.settings import PizzeriaSettings
from pizzeria.web import create_web_app

MANAGER = {"Authorization": "Bearer manager-test-token"}
STAFF = {"Authorization": "Bearer staff-test-token"}
GIULIA = "+390815550101"


def order_body(**changes: Any) -> dict[str, Any]:
    """A valid ``POST /orders`` body (one medium margherita for Giulia), with ``changes``."""
    body: dict[str, Any] = {
        "phone": "+39 081 555 0101",
        "name": "Giulia Verdi",
        "address": "Via Roma 12, Napoli",
        "lines": [{"pizza": "margherita"}],
    }
    body.update(changes)
    return body


@pytest.fixture
def manager() -> dict[str, str]:
    """The headers of a request with the manager's token."""
    return dict(MANAGER)


@pytest.fixture
def staff() -> dict[str, str]:
    """The headers of a request with the staff's token."""
    return dict(STAFF)


@pytest.fixture(name="order_body")
def order_body_fixture() -> Callable[..., dict[str, Any]]:
    """``order_body``: a valid ``POST /orders`` body with changes."""
    return order_body


@pytest.fixture
def web_settings(database_url: str | None) -> PizzeriaSettings:
    """The service's settings on the test's back-end, with test tokens."""
    return PizzeriaSettings(
        database_url=database_url,
        manager_token=SecretStr("manager-test-token"),
        staff_token=SecretStr("staff-test-token"),
    )


@pytest.fixture
def api(web_settings: PizzeriaSettings) -> FastAPI:
    """The web app, not started."""
    return create_web_app(web_settings)


@pytest.fixture
def application(api: FastAPI) -> Application:
    """The facta application the web app serves."""
    app: Application = api.state.facta
    return app


@pytest.fixture
async def client(api: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the started app (the menu of ``PIZZERIA.md`` on sale)."""
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://pizzeria") as client:
            yield client


Place = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def place(client: httpx.AsyncClient) -> Place:
    """Places an order over HTTP (``order_body`` with the changes given); answers its JSON."""

    async def send(**changes: Any) -> dict[str, Any]:
        answer = await client.post("/orders", json=order_body(**changes))
        assert answer.status_code == 201, answer.text
        order: dict[str, Any] = answer.json()
        return order

    return send


class EventReader:
    """The events of one open stream, parsed as they arrive."""

    def __init__(self, chunks: asyncio.Queue[bytes]) -> None:
        self._chunks = chunks
        self._buffer = ""
        self.comments: list[str] = []

    async def next(self, timeout: float = 5.0) -> tuple[str, str]:
        """The next event's name and data (comments are kept in ``comments``)."""
        async with asyncio.timeout(timeout):
            while True:
                while "\n\n" in self._buffer:
                    block, self._buffer = self._buffer.split("\n\n", 1)
                    event, data = "message", []
                    for line in block.split("\n"):
                        field, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if field == "":
                            self.comments.append(value)
                        elif field == "event":
                            event = value
                        elif field == "data":
                            data.append(value)
                    if data:
                        return event, "\n".join(data)
                self._buffer += (await self._chunks.get()).decode()


OpenEvents = Callable[[str], AbstractAsyncContextManager[EventReader]]


@pytest.fixture
def open_events(api: FastAPI, client: httpx.AsyncClient) -> OpenEvents:
    """Opens an event stream of the started app in process; disconnects at the end."""

    @asynccontextmanager
    async def stream(path: str) -> AsyncIterator[EventReader]:
        chunks: asyncio.Queue[bytes] = asyncio.Queue()
        started, gone = asyncio.Event(), asyncio.Event()
        head: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                head.update(message)
                started.set()
            elif message.get("body"):
                chunks.put_nowait(message["body"])

        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"pizzeria"), (b"accept", b"text/event-stream")],
            "server": ("pizzeria", 80),
            "client": ("127.0.0.1", 50000),
        }
        task = asyncio.create_task(api(scope, receive, send))
        await asyncio.wait_for(started.wait(), 5)
        assert head["status"] == 200
        headers = {name.decode(): value.decode() for name, value in head["headers"]}
        assert headers["content-type"].startswith("text/event-stream")
        try:
            yield EventReader(chunks)
        finally:
            gone.set()
            await asyncio.wait_for(task, 5)

    return stream
