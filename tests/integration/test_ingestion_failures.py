"""Failures retrying cannot fix and failures that pass are told apart on both ways in
(issue 11): a handler's permanent refusal is a 422 over HTTP and a dead letter at once
over AMQP; an outage (the store is down) is a 503 with ``Retry-After`` and a retry with
backoff; anything else is a 500 and a retry, until the attempts run out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import ClassVar

import httpx
import pytest

from facta import (
    ApplicationBuilder,
    ConcurrencyError,
    DomainError,
    Envelope,
    IntegrationEventHandler,
    PermanentFailure,
    PersistenceError,
    UnitOfWork,
)
from facta.hosting.web.cloudevents import EVENT_REFUSED, HANDLING_FAILED
from facta.integration.amqp import Action, DeliveryPolicy
from integration.http_support import assert_problem, document
from integration.ingestion_support import STRUCTURED, written
from support.shop import OrderPlacedV2, Points


class Failing(IntegrationEventHandler[OrderPlacedV2]):
    """Writes, then raises ``error``: nothing of it may stay."""

    error: ClassVar[Exception] = RuntimeError("unset")

    def __init__(self, uow: UnitOfWork) -> None:
        self.points = uow.repository(Points)

    async def handle(self, data: OrderPlacedV2, envelope: Envelope) -> None:
        self.points.add(Points(id=data.customer, customer=data.customer))
        raise type(self).error


class CustomerBlocked(DomainError):
    """A business rule of the consuming service."""


PERMANENT = [
    pytest.param(PermanentFailure("customer is blocked"), id="permanent-failure"),
    pytest.param(CustomerBlocked("customer is blocked"), id="domain-error"),
]
OUTAGE = PersistenceError("the database cannot be reached")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    from fastapi import FastAPI

    from facta.hosting.web import cloudevents_router

    api = FastAPI()
    api.include_router(cloudevents_router(APP))
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://loyalty") as client:
        yield client


APP = ApplicationBuilder().add_handler(Failing).build()


async def post(client: httpx.AsyncClient, error: Exception, event_id: str) -> httpx.Response:
    Failing.error = error
    body = json.dumps(document(event_id))
    return await client.post("/events", content=body, headers={"content-type": STRUCTURED})


@pytest.mark.parametrize("error", PERMANENT)
async def test_a_permanent_refusal_by_a_handler_is_a_422(
    client: httpx.AsyncClient, error: Exception
) -> None:
    response = await post(client, error, "evt-permanent")

    assert_problem(response, 422, EVENT_REFUSED)
    assert "customer is blocked" not in response.text  # the exception is logged, not sent
    assert await written(APP) == 0


async def test_a_store_that_is_down_is_a_503_with_retry_after(client: httpx.AsyncClient) -> None:
    response = await post(client, OUTAGE, "evt-outage")

    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert await written(APP) == 0


async def test_a_handler_that_crashes_is_a_500_to_send_again(client: httpx.AsyncClient) -> None:
    response = await post(client, RuntimeError("bug"), "evt-crash")

    assert_problem(response, 500, HANDLING_FAILED)
    assert await written(APP) == 0


POLICY = DeliveryPolicy(max_attempts=3, retry_delay=0.5, max_retry_delay=2.0)


async def decide(error: Exception, attempt: int) -> tuple[Action, float]:
    Failing.error = error
    body = json.dumps(document(f"evt-{type(error).__name__}-{attempt}")).encode()
    decision = await POLICY.decide(APP.ingestor, STRUCTURED, {}, body, attempt)
    return decision.action, decision.delay


@pytest.mark.parametrize("error", PERMANENT)
async def test_a_permanent_refusal_is_dead_lettered_on_the_first_delivery(
    error: Exception,
) -> None:
    assert (await decide(error, 1))[0] is Action.DEAD_LETTER
    assert await written(APP) == 0


@pytest.mark.parametrize(
    "error",
    [pytest.param(OUTAGE, id="outage"), pytest.param(RuntimeError("bug"), id="crash")],
)
async def test_a_failure_that_may_pass_is_retried_with_backoff_then_dead_lettered(
    error: Exception,
) -> None:
    assert await decide(error, 1) == (Action.RETRY, 0.5)
    assert await decide(error, 2) == (Action.RETRY, 1.0)
    assert (await decide(error, 3))[0] is Action.DEAD_LETTER
    assert await written(APP) == 0


async def test_a_conflict_with_another_writer_is_retried_at_once() -> None:
    conflict = ConcurrencyError("Points", "ann", 0, 1)

    assert await decide(conflict, 1) == (Action.RETRY, 0.0)
