"""``web_app``: a facta application behind FastAPI, every error as problem+json."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import injector
import pytest
from fastapi import APIRouter
from pydantic import SecretStr

from facta import Application, ApplicationBuilder, ConfigurationError
from facta.application.tracing import current_traceparent
from facta.hosting.settings import Settings
from facta.hosting.web.application import ApplicationDep, MediatorDep, web_app
from support.bank import HANDLERS, Deposit, InsufficientFunds, Journal, OpenAccount, Transfer

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def bank() -> Application:
    journal = Journal()

    def bind(binder: injector.Binder) -> None:
        binder.bind(Journal, to=journal)

    return ApplicationBuilder().add_handler(*HANDLERS).add_module(bind).build()


router = APIRouter()


@router.post("/accounts/{account_id}", status_code=201)
async def open_account(account_id: str, owner: str, mediator: MediatorDep) -> dict[str, str]:
    return {"id": await mediator.send(OpenAccount(account_id=account_id, owner=owner))}


@router.post("/accounts/{account_id}/deposits")
async def deposit(account_id: str, amount: int, mediator: MediatorDep) -> dict[str, int]:
    return {"balance": await mediator.send(Deposit(account_id=account_id, amount=amount))}


@router.post("/transfers")
async def transfer(source: str, target: str, amount: int, mediator: MediatorDep) -> None:
    await mediator.send(Transfer(source=source, target=target, amount=amount))


@router.get("/operation")
async def operation(app: ApplicationDep) -> dict[str, object]:
    uow = app.unit_of_work()  # the request's own operation gives a unit of work
    return {"uow": type(uow).__name__, "traceparent": current_traceparent()}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    api = web_app(bank(), title="bank")
    api.include_router(router)
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_routes_get_the_mediator_and_commands_run(client: httpx.AsyncClient) -> None:
    assert (await client.post("/accounts/ann", params={"owner": "ann"})).status_code == 201
    answer = await client.post("/accounts/ann/deposits", params={"amount": 5})
    assert answer.json() == {"balance": 5}


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "title"),
    [
        pytest.param(
            "post", "/accounts/nobody/deposits", {"amount": 1}, 404, "Not found", id="not-found"
        ),
        pytest.param(
            "post",
            "/transfers",
            {"source": "ann", "target": "ann", "amount": 99},
            409,
            "Refused by a business rule",
            id="refused",
        ),
        pytest.param(
            "post",
            "/accounts/ann",
            {"owner": "again"},
            409,
            "Conflict with a concurrent change",
            id="exists",
        ),
        pytest.param(
            "post", "/accounts/ann/deposits", {"amount": "lots"}, 422, "Invalid input", id="invalid"
        ),
        pytest.param("get", "/nowhere", {}, 404, "Not Found", id="no-route"),
    ],
)
async def test_errors_are_answered_as_problem_json(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    params: dict[str, object],
    status: int,
    title: str,
) -> None:
    await client.post("/accounts/ann", params={"owner": "ann"})

    answer = await client.request(method, path, params=params)

    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert (problem["status"], problem["title"]) == (status, title)
    if status == 422:
        assert problem["errors"][0]["location"][-1] == "amount"


async def test_a_refused_domain_operation_is_named_by_its_code_never_its_class(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/accounts/ann", params={"owner": "ann"})
    answer = await client.post("/transfers", params={"source": "ann", "target": "ann", "amount": 9})
    problem = answer.json()
    assert (problem["type"], problem["code"]) == ("urn:facta:problem:domain-rule", "domain-rule")
    assert (problem["title"], problem["status"]) == ("Refused by a business rule", 409)
    assert InsufficientFunds.__name__ not in answer.text


async def test_an_unexpected_error_is_a_500_without_its_text(client: httpx.AsyncClient) -> None:
    answer = await client.get("/boom")

    assert answer.status_code == 500
    assert "secret internals" not in answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_each_request_runs_in_an_operation_with_the_callers_trace(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/operation", headers={"traceparent": TRACEPARENT})

    assert answer.json() == {"uow": "InMemoryUnitOfWork", "traceparent": TRACEPARENT}


class ShopSettings(Settings):
    env_prefix = "SHOP_"
    database_url: str | None = None
    port: int = 8000
    manager_token: SecretStr = SecretStr("change-me")


def test_settings_are_read_from_prefixed_environment_variables() -> None:
    settings = ShopSettings.from_env(
        {"SHOP_PORT": "9000", "SHOP_MANAGER_TOKEN": "s3cret", "PORT": "1"}
    )

    assert (settings.port, settings.database_url) == (9000, None)
    assert settings.manager_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_a_bad_setting_is_a_configuration_error_naming_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="SHOP_PORT"):
        ShopSettings.from_env({"SHOP_PORT": "eighty"})
