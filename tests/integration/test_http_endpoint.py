"""The ingestion endpoint beyond ingesting: the contracts' schemas (so that ``dataschema``
URIs resolve), the webhook handshake, its place in ``web_app``, a store that fails, the
OpenAPI document, and the error that names the extra when it is missing."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from conftest import sql_backend
from facta import ApplicationBuilder
from facta.hosting.web import cloudevents_router
from facta.hosting.web.application import web_app
from facta.integration.http import HttpPublisher
from integration.http_support import (
    BATCH,
    PROBLEM,
    STRUCTURED,
    Sink,
    assert_problem,
    document,
    points,
    running,
    serve,
    shop,
)
from support.shop import LOYALTY, OrderPlacedV1, OrderPlacedV2, PlaceOrder

# --- contract schemas, so that dataschema URIs resolve -----------------------------------


async def test_the_schema_of_each_contract_is_served_where_dataschema_points() -> None:
    sink = Sink()
    api = FastAPI()
    async with (
        serve(sink) as sink_url,
        serve(api) as shop_url,
        httpx.AsyncClient() as client,
        shop(
            HttpPublisher(f"{sink_url}/events"), dataschema_base=f"{shop_url}/events/schemas"
        ) as orders,
    ):
        api.include_router(cloudevents_router(orders))  # the producer serves its schemas
        await orders.mediator.send(PlaceOrder(order_id="o-1", customer="ann", total_cents=1))

        assert {event.get_type() for event in sink.accepted} == {
            OrderPlacedV1.cloudevent_type,
            OrderPlacedV2.cloudevent_type,
        }
        for event in sink.accepted:
            assert (event.get_dataschema() or "").startswith(shop_url)
            answer = await client.get(event.get_dataschema() or "")
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "application/schema+json"
            schema = answer.json()
            assert schema["title"] == event.get_type()
            jsonschema.Draft202012Validator(schema).validate(event.get_data())


async def test_the_schema_of_an_unknown_type_is_a_404_problem() -> None:
    async with running(None) as service:
        known = await service.client.get(f"/events/schemas/{OrderPlacedV2.cloudevent_type}.json")
        unknown = await service.client.get("/events/schemas/com.example.nothing.v1.json")

    assert known.json() == OrderPlacedV2.json_schema()
    assert_problem(unknown, 404, "about:blank")


# --- the webhook validation handshake, and web_app -------------------------------------


async def test_the_webhook_handshake_allows_the_origin_that_asks() -> None:
    async with running(None, allowed_origins={"shop.example"}) as service:
        allowed = await service.client.options(
            "/events",
            headers={"WebHook-Request-Origin": "shop.example", "WebHook-Request-Rate": "10"},
        )
        refused = await service.client.options(
            "/events", headers={"WebHook-Request-Origin": "evil.example"}
        )

    assert allowed.status_code == 200
    assert allowed.headers["webhook-allowed-origin"] == "shop.example"
    assert allowed.headers["webhook-allowed-rate"] == "*"
    assert "POST" in allowed.headers["allow"]
    assert_problem(refused, 403, "about:blank")


async def test_the_endpoint_works_in_a_web_app_that_runs_requests_in_operations() -> None:
    app = ApplicationBuilder().add_handler(*LOYALTY).build()
    api = web_app(app)
    api.include_router(cloudevents_router(app))

    async with serve(api, lifespan=True) as url, httpx.AsyncClient(base_url=url) as client:
        body = json.dumps(document()).encode()
        headers = {"content-type": STRUCTURED}
        first = await client.post("/events", content=body, headers=headers)
        again = await client.post("/events", content=body, headers=headers)
        refused = await client.post("/events", content=b"{}", headers={"content-type": "x/y"})

    assert [first.status_code, again.status_code] == [200, 200]
    assert again.json()["events"][0]["outcome"] == "duplicate"
    assert_problem(refused, 415, "about:blank")
    account = await points(app)
    assert account is not None and account.orders == ["o-1"]


# --- a store that fails, the OpenAPI document, the extra ---------------------------------


async def test_a_store_that_fails_is_a_503_problem_without_the_drivers_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with (
        sql_backend("sqlite", f"sqlite:///{tmp_path / 'broken.db'}", True) as backend,
        running(backend) as service,
    ):
        assert backend.engine is not None
        async with backend.engine.begin() as connection:
            await connection.exec_driver_sql("DROP TABLE facta_deliveries")

        with caplog.at_level(logging.ERROR):
            response = await service.post(document())

    assert_problem(response, 503, "about:blank")
    assert "facta_deliveries" not in response.text
    assert "facta_deliveries" in caplog.text


async def test_the_openapi_document_describes_the_endpoint_and_its_problems() -> None:
    async with running(None) as service:
        answer = await service.client.get("/openapi.json")

    assert answer.status_code == 200
    operation = answer.json()["paths"]["/events"]["post"]
    assert set(operation["requestBody"]["content"]) >= {STRUCTURED, BATCH}
    for status in ("400", "413", "415", "500", "503"):
        problem = operation["responses"][status]["content"][PROBLEM]["schema"]
        assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    schemas = answer.json()["paths"]["/events/schemas/{cloudevent_type}.json"]
    assert "404" in schemas["get"]["responses"]


@pytest.mark.parametrize(
    ("module", "missing"),
    [("facta.hosting.web", "fastapi"), ("facta.integration.http", "httpx")],
)
def test_without_the_web_extra_the_error_names_it(module: str, missing: str) -> None:
    code = (
        f"import sys\nsys.modules[{missing!r}] = None\n"
        f"try:\n    import {module}\nexcept Exception as error:\n"
        f"    print(type(error).__name__, error)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.startswith("MissingExtra")
    assert "pip install facta[web]" in result.stdout
    assert f"'{missing}'" in result.stdout
