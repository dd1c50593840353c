"""``python -m pizzeria serve`` stops cleanly: a SIGTERM while its relay drains a backlog
ends the process within 5 seconds, and not one event is lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from facta import Application, OutboxRelay
from facta.persistence import DeliverySettings, EventFlow, OutboxEntry
from pizzeria.app import DatabaseTables, ensure_menu, pizzeria_builder
from pizzeria.application.commands import LineRequest, PlaceOrder
from pizzeria.application.queries import ListOrders

ORDERS = 150


def backlogged(url: str) -> Application:
    """The pizzeria on ``url`` whose events are due to the relay at once."""
    return (
        pizzeria_builder(url)
        .add_service(DatabaseTables)
        .delivery(DeliverySettings(grace=timedelta(0)))
        .build()
    )


async def fill_backlog(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """``ORDERS`` orders committed by a process that died before dispatching their events."""

    async def died(self: EventFlow, entries: Sequence[OutboxEntry]) -> None:
        return None

    async with backlogged(url) as app:
        await ensure_menu(app)
        monkeypatch.setattr(EventFlow, "dispatch", died)
        for number in range(ORDERS):
            await app.mediator.send(
                PlaceOrder(
                    phone=f"+3908155{number:05d}",
                    name="Cliente",
                    address="Via Roma 12, Napoli",
                    lines=(LineRequest(pizza="margherita"),),
                )
            )
        monkeypatch.undo()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def pending(url: str) -> int:
    async with backlogged(url) as app:
        return (await app.outbox.stats()).pending


def serve(url: str, port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pizzeria", "serve", "--database-url", url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


async def wait_until_draining(url: str, port: int, backlog: int) -> None:
    """Wait until the server answers and its relay has delivered part of the backlog,
    looking every 10 ms through one application: the relay drains it in about a second."""
    deadline = time.monotonic() + 30
    serving = False
    left = backlog
    async with (
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client,
        backlogged(url) as app,
    ):
        while time.monotonic() < deadline:
            if not serving:
                try:
                    serving = (await client.get("/menu")).status_code == 200
                except httpx.TransportError:
                    pass
            left = (await app.outbox.stats()).pending
            if serving and 0 < left < backlog:
                return
            await asyncio.sleep(0.01)
    raise AssertionError(
        f"the server did not start draining its backlog within 30 s "
        f"(answering: {serving}; {left} of {backlog} events pending)"
    )


async def test_sigterm_while_the_relay_drains_stops_within_5_seconds_losing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'pizzeria.db'}"
    await fill_backlog(url, monkeypatch)
    backlog = await pending(url)
    port = free_port()
    server = serve(url, port)
    try:
        await wait_until_draining(url, port, backlog)

        server.send_signal(signal.SIGTERM)
        started = time.monotonic()
        output, _ = await asyncio.to_thread(server.communicate, timeout=20)
        stopped_after = time.monotonic() - started
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()

    assert server.returncode == 0, output
    assert stopped_after < 5, f"stopped after {stopped_after:.1f} s:\n{output}"
    assert "Mario's Pizzeria is closed." in output
    async with backlogged(url) as app:
        await app.get(OutboxRelay).drain()  # at once: no event is left under a lease
        stats = await app.outbox.stats()
        page = await app.mediator.query(ListOrders(page_size=1))
    assert (stats.pending, stats.dead_letters) == (0, 0)
    assert page.total == ORDERS  # every order's events reached the read models
