"""The board's Server-Sent Events: committed order and kitchen changes are pushed to every
open stream, in process and through a real uvicorn, and a closed stream is let go."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest
from fastapi import FastAPI

from facta import Application
from pizzeria.web.board import BoardChanges
from pizzeria.web.server import serve_in_thread

Place = Callable[..., Awaitable[dict[str, Any]]]


class Reader(Protocol):
    comments: list[str]

    async def next(self, timeout: float = 5.0) -> tuple[str, str]: ...


OpenEvents = Callable[[str], AbstractAsyncContextManager[Reader]]


async def board_messages(reader: Reader, count: int) -> list[dict[str, Any]]:
    messages = []
    for _ in range(count):
        name, data = await reader.next()
        assert name == "board"
        messages.append(json.loads(data))
    return messages


async def test_an_order_placed_through_the_api_is_pushed_to_the_board(
    open_events: OpenEvents, place: Place, application: Application
) -> None:
    async with open_events("/board/events") as reader:
        assert application.get(BoardChanges).subscribers == 1
        order = await place()

        [message] = await board_messages(reader, 1)

    assert message == {"event": "OrderConfirmed", "order_id": order["id"], "status": "confirmed"}
    assert "stream open" in reader.comments


async def test_cooking_pushes_the_order_and_the_kitchen_slot_to_every_open_board(
    open_events: OpenEvents, place: Place, client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    order_id = (await place())["id"]
    async with open_events("/board/events") as first, open_events("/board/events") as second:
        await client.post(f"/orders/{order_id}/cook", headers=staff)

        seen = [await board_messages(reader, 2) for reader in (first, second)]

    expected = [
        {"event": "OrderCookingStarted", "order_id": order_id, "status": "cooking"},
        {"event": "KitchenSlotTaken", "order_id": order_id, "free_slots": 2},
    ]
    assert seen == [expected, expected]


async def test_a_refused_transition_pushes_nothing(
    open_events: OpenEvents, place: Place, client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    order_id = (await place())["id"]
    async with open_events("/board/events") as reader:
        assert (await client.post(f"/orders/{order_id}/ready", headers=staff)).status_code == 409
        await client.post(f"/orders/{order_id}/cancel", json={"reason": "late"})

        [message] = await board_messages(reader, 1)

    assert message["event"] == "OrderCancelled"


async def test_a_board_that_disconnects_is_unsubscribed(
    open_events: OpenEvents, application: Application
) -> None:
    changes = application.get(BoardChanges)
    async with open_events("/board/events"):
        assert changes.subscribers == 1

    assert changes.subscribers == 0


@pytest.fixture
def sqlite_api(api: FastAPI, database_url: str | None) -> FastAPI:
    assert database_url is not None and database_url.startswith("sqlite")
    return api


@pytest.mark.backends("sqlite")
def test_a_real_server_streams_the_board_and_stops_at_once_with_a_stream_open(
    sqlite_api: FastAPI,
) -> None:
    changes = sqlite_api.state.facta.get(BoardChanges)
    with serve_in_thread(sqlite_api) as url, httpx.Client(base_url=url, trust_env=False) as http:
        with http.stream("GET", "/board/events", timeout=10) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert stream.headers["cache-control"] == "no-cache"
            lines = stream.iter_lines()
            assert next(lines) == ": stream open"
            deadline = time.monotonic() + 5
            while changes.subscribers == 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            body = {
                "phone": "+39 081 555 0101",
                "name": "Giulia Verdi",
                "address": "Via Roma 12, Napoli",
                "lines": [{"pizza": "margherita"}],
            }
            order_id = http.post("/orders", json=body).json()["id"]
            data = next(line for line in lines if line.startswith("data:"))
            assert json.loads(data.removeprefix("data: "))["order_id"] == order_id
            stopping = time.monotonic()
    assert time.monotonic() - stopping < 3  # the open stream did not hold the shutdown
    assert changes.closed


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_python_dash_m_pizzeria_serves_on_sqlite_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIZZERIA_")}
    server = subprocess.Popen(
        [sys.executable, "-m", "pizzeria", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    menu = http.get("/menu")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.1)
            assert [pizza["name"] for pizza in menu.json()][:2] == ["hawaiian", "margherita"]
            with http.stream("GET", "/board/events", timeout=10) as stream:
                assert next(stream.iter_lines()) == ": stream open"
                server.send_signal(signal.SIGINT)
                out, err = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()

    assert server.returncode == 0, err
    assert f"Mario's Pizzeria is open on http://127.0.0.1:{port}" in out
    assert "staff-dev-token" in out and "sqlite:///pizzeria.db" in out
    assert (tmp_path / "pizzeria.db").exists()


@pytest.mark.backends("mongodb")
def test_python_dash_m_pizzeria_serves_on_the_mongodb_url_of_the_environment(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PIZZERIA_")}
    environment["PIZZERIA_DATABASE_URL"] = database_url
    server = subprocess.Popen(
        [sys.executable, "-m", "pizzeria", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    menu = http.get("/menu")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline and server.poll() is None
                    time.sleep(0.1)
            assert [pizza["name"] for pizza in menu.json()][:2] == ["hawaiian", "margherita"]
            body = {
                "phone": "+39 081 555 0101",
                "name": "Giulia Verdi",
                "address": "Via Roma 12, Napoli",
                "lines": [{"pizza": "margherita"}],
            }
            placed = http.post("/orders", json=body)
            assert placed.status_code == 201, placed.text
            order = http.get(f"/orders/{placed.json()['id']}").json()
            assert (order["status"], order["total"]) == ("confirmed", "12.00")
            server.send_signal(signal.SIGINT)
            out, err = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()

    assert server.returncode == 0, err
    assert f"data           {database_url}" in out
    assert list(tmp_path.iterdir()) == []  # no SQLite file: the data is in MongoDB
