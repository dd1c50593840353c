"""The web service's operations endpoints: health, and Prometheus metrics when
``PIZZERIA_METRICS=prometheus`` asks for them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from pizzeria.settings import PizzeriaSettings
from pizzeria.web import create_web_app

ORDER = {
    "phone": "+39 081 555 0101",
    "name": "Giulia Verdi",
    "address": "Via Roma 12, Napoli",
    "lines": [{"pizza": "margherita"}],
}


@asynccontextmanager
async def pizzeria(settings: PizzeriaSettings) -> AsyncIterator[httpx.AsyncClient]:
    api = create_web_app(settings)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://pizzeria") as client:
            yield client


async def test_the_pizzeria_is_alive_and_ready() -> None:
    async with pizzeria(PizzeriaSettings()) as client:
        live = await client.get("/health/live")
        ready = await client.get("/health/ready")

    assert (live.status_code, ready.status_code) == (200, 200)
    assert ready.json()["checks"]["relay"]["status"] == "up"


async def test_without_metrics_asked_for_there_is_no_metrics_endpoint() -> None:
    async with pizzeria(PizzeriaSettings()) as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_with_prometheus_metrics_the_pizzeria_serves_them_on_metrics() -> None:
    async with pizzeria(PizzeriaSettings.from_env({"PIZZERIA_METRICS": "prometheus"})) as client:
        assert (await client.post("/orders", json=ORDER)).status_code == 201
        answer = await client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'facta_message_duration_seconds_count{facta_message_kind="command"' in text
    assert 'facta_message_type="PlaceOrder"' in text
    assert "facta_handler_duration_seconds_bucket" in text
