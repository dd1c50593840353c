"""The web service's composition: the pizzeria behind FastAPI, with the board and the relay.

``create_web_app(settings)`` builds the pizzeria as ``pizzeria_builder`` composes it
and adds what a long-running service needs:

- the ``DatabaseTables`` service, which creates the missing tables, then the outbox
  relay (it delivers what a failed handler or a crash left behind); services start in
  the order they are added, so the relay never polls a database without its tables;
- the board's event handlers and a ``BoardChanges`` broadcaster of its own;
- at start-up, the menu of ``PIZZERIA.md`` on a database that never had it;
- ``/health/live`` and ``/health/ready`` (unready when the relay is more than
  ``PIZZERIA_MAX_RELAY_LAG`` seconds behind), and the telemetry ``pizzeria.telemetry``
  sets up from the environment (``GET /metrics`` with ``PIZZERIA_METRICS=prometheus``).

Without a database URL in the settings everything is kept in memory (tests).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import FastAPI, Response
from fastapi.routing import APIRoute

from facta import Application, OutboxRelay
from facta.application import Instrumentation
from facta.hosting import Readiness
from facta.hosting.web.application import web_app
from pizzeria.app import DatabaseTables, ensure_menu, pizzeria_builder
from pizzeria.settings import PizzeriaSettings
from pizzeria.telemetry import PizzeriaTelemetry, pizzeria_telemetry
from pizzeria.web.api import router
from pizzeria.web.board import (
    BoardChanges,
    BoardModule,
    NotifyBoardOfKitchen,
    NotifyBoardOfOrders,
    board_router,
    board_static,
)

__all__ = ["DESCRIPTION", "PROBLEM_BASE", "create_web_app"]

PROBLEM_BASE = "https://mariospizzeria.example/problems/"
"""The pizzeria's problem types: this base and a domain error's code (``.../kitchen-full``)."""

DESCRIPTION = """\
Mario's Pizzeria, the sample application of facta: the menu, orders from the oven to the
door, and a kitchen that cooks three orders at once.

Errors are `application/problem+json` (RFC 9457). Menu changes need the manager's bearer
token; starting to cook, marking ready, dispatching and delivering need the staff's (the
manager's works too). Reading, placing an order and cancelling one are public.
The live kitchen board is at [/board](/board).
"""


def _metrics_endpoint(telemetry: PizzeriaTelemetry) -> Callable[[], Awaitable[Response]]:
    async def metrics() -> Response:
        body, content_type = telemetry.metrics_text()
        return Response(body, media_type=content_type)

    return metrics


def _operation_id(route: APIRoute) -> str:
    return route.name  # get_menu, place_order, cook...: short names for generated clients


# --8<-- [start:create_web_app]
def create_web_app(
    settings: PizzeriaSettings | None = None, *, instrumentation: Instrumentation | None = None
) -> FastAPI:
    """The pizzeria as a FastAPI app; ``settings`` default to the environment's.

    Serve it with any ASGI server (``python -m pizzeria serve`` runs uvicorn). Its
    lifespan starts the application (tables, relay), puts the menu on sale on a new
    database, and at the end closes the board's streams and stops everything.
    ``instrumentation`` replaces the telemetry the settings ask for (tests record spans).
    """
    settings = PizzeriaSettings.from_env() if settings is None else settings
    telemetry = None if instrumentation is not None else pizzeria_telemetry(settings)
    if telemetry is not None:
        instrumentation = telemetry.instrumentation
    application = (
        pizzeria_builder(settings=settings, instrumentation=instrumentation)
        .add_handler(NotifyBoardOfOrders, NotifyBoardOfKitchen)
        .add_module(BoardModule())
        .add_service(DatabaseTables)
        .add_service(OutboxRelay)
        .build()
    )

    async def start(app: Application) -> None:
        await ensure_menu(app)

    async def stop(app: Application) -> None:
        app.get(BoardChanges).close()
        if telemetry is not None:
            telemetry.shutdown()

    api = web_app(
        application,
        on_startup=start,
        on_shutdown=stop,
        title="Mario's Pizzeria",
        version="1.0.0",
        description=DESCRIPTION,
        generate_unique_id_function=_operation_id,
        problem_base=PROBLEM_BASE,
        readiness=Readiness(max_relay_lag=timedelta(seconds=settings.max_relay_lag)),
    )
    if telemetry is not None and telemetry.prometheus_registry is not None:
        api.add_api_route("/metrics", _metrics_endpoint(telemetry), include_in_schema=False)
    api.include_router(router)
    api.include_router(board_router)
    api.mount("/board/static", board_static(), name="board-static")
    return api


# --8<-- [end:create_web_app]
