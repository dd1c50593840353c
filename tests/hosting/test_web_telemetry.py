"""The web hosting starts or continues the trace of each request, and logs carry the
trace id and the correlation id of the work they come from."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter
from opentelemetry.trace import SpanKind, StatusCode

from facta import ApplicationBuilder
from facta.hosting import LogContext
from facta.hosting.web.application import MediatorDep, web_app
from support.shop import SHOP, PlaceOrder
from support.telemetry import Recorder, parent_of, span_id, trace_id

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"

router = APIRouter()
_log = logging.getLogger("tests.web")


@router.post("/orders/{order_id}", status_code=201)
async def place(order_id: str, mediator: MediatorDep) -> dict[str, str]:
    _log.warning("placing %s", order_id)
    return {"id": await mediator.send(PlaceOrder(order_id=order_id, customer="a", total_cents=1))}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("internals")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder("shop")


@pytest.fixture
async def client(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    app = ApplicationBuilder().add_handler(*SHOP).instrument(recorder.instrumentation()).build()
    api = web_app(app)
    api.include_router(router)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_a_request_without_a_traceparent_starts_a_trace_named_by_its_route(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    assert (await client.post("/orders/o-1")).status_code == 201

    server = recorder.span("POST /orders/{order_id}")
    assert server.kind is SpanKind.SERVER
    assert parent_of(server) is None
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/orders/{order_id}"
    assert server.attributes["http.response.status_code"] == 201
    assert server.attributes["server.address"] == "test"
    assert parent_of(recorder.span("send PlaceOrder")) == span_id(server)


async def test_a_request_with_a_traceparent_continues_the_callers_trace(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    await client.post("/orders/o-1", headers={"traceparent": TRACEPARENT})

    server = recorder.span("POST /orders/{order_id}")
    assert trace_id(server) == int(CALLER_TRACE, 16)
    assert parent_of(server) == int(CALLER_SPAN, 16)


async def test_a_request_that_fails_has_an_error_status(
    client: httpx.AsyncClient, recorder: Recorder
) -> None:
    assert (await client.get("/boom")).status_code == 500

    server = recorder.span("GET /boom")
    assert server.status.status_code is StatusCode.ERROR


async def test_log_records_carry_the_trace_id_and_the_correlation_id(
    recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    app = ApplicationBuilder().add_handler(*SHOP).instrument(recorder.instrumentation()).build()
    api = web_app(app)
    api.include_router(router)
    LogContext(app).install(caplog.handler)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await client.post("/orders/o-1", headers={"traceparent": TRACEPARENT})

    (record,) = [record for record in caplog.records if record.name == "tests.web"]
    assert record.trace_id == CALLER_TRACE  # type: ignore[attr-defined]
    assert record.correlation_id  # type: ignore[attr-defined]
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "outside", None, None)
    assert LogContext(app).filter(outside)
    assert (outside.trace_id, outside.correlation_id) == ("", "")  # type: ignore[attr-defined]
