"""A facta application served by FastAPI: lifespan, per-request operations, errors.

``web_app(application)`` returns a FastAPI app that starts the facta application (its
relay, consumers and publishers) with the web server and stops it after, runs every
request in its own operation scope (with the caller's W3C ``traceparent``), hands routes
the mediator through ``MediatorDep``, and answers every error as
``application/problem+json`` (RFC 9457):

| error | status | problem ``type`` |
|---|---|---|
| ``NotFound`` | 404 | ``about:blank`` |
| ``DomainError`` (a business rule refused it) | 409 | ``problem_base`` + the error's ``code`` |
| ``ConcurrencyError`` (still, after any retries) | 409, ``Retry-After`` | ``CONFLICT`` |
| invalid messages, bodies (JSON, UTF-8) and parameters | 422, with the fields | ``VALIDATION`` |
| ``HTTPException`` | its status (a 405 with ``Allow``) | ``about:blank`` |
| anything else | 500, without the exception's text (it is logged) | ``about:blank`` |

A problem's identity is its ``type`` URI (and, for a domain error, its ``code``):
stable names the application chooses, never a Python class name.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facta.application import Mediator
from facta.application.tracing import trace_context
from facta.errors import (
    ConcurrencyError,
    DomainError,
    FieldError,
    MessageValidationError,
    NotFound,
)
from facta.hosting.application import Application
from facta.hosting.health import Readiness
from facta.hosting.web.health import health_router
from facta.hosting.web.problems import PROBLEM_CONTENT_TYPE, Problem, problem_schema

__all__ = [
    "CONFLICT",
    "VALIDATION",
    "ApplicationDep",
    "MediatorDep",
    "application_of",
    "install_problem_handlers",
    "problem_openapi",
    "web_app",
]

_log = logging.getLogger("facta.web")

Startup = Callable[[Application], Awaitable[None]]

CONFLICT = "urn:facta:problem:concurrency-conflict"
"""The problem type of a write that lost a race with another: try again shortly."""

VALIDATION = "urn:facta:problem:validation"
"""The problem type of input refused for its fields (``errors`` lists them)."""


def web_app(
    application: Application,
    *,
    on_startup: Startup | None = None,
    on_shutdown: Startup | None = None,
    problem_base: str = "urn:facta:problem:",
    retry_after: int = 1,
    readiness: Readiness | None = None,
    health_path: str | None = "/health",
    **fastapi_options: Any,
) -> FastAPI:
    """A FastAPI app serving ``application``: include your routers in it.

    ``on_startup`` runs after the application's services started (create tables, seed
    data); ``on_shutdown`` before they stop. ``health_path`` is where the liveness and
    readiness endpoints are (``/health/live``, ``/health/ready``; None for none), and
    ``readiness`` what ready means (by default: the database and the broker answer). A
    domain error's problem ``type`` is ``problem_base`` followed by its ``code``; a
    conflict tells the client to retry after ``retry_after`` seconds. Other keyword
    arguments go to ``FastAPI`` (``title``, ``version``, ``description``...).
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with application:
            if on_startup is not None:
                await on_startup(application)
            try:
                yield
            finally:
                if on_shutdown is not None:
                    await on_shutdown(application)

    api = FastAPI(lifespan=lifespan, **fastapi_options)
    api.state.facta = application
    api.add_middleware(OperationMiddleware, application=application)
    install_problem_handlers(api, problem_base=problem_base, retry_after=retry_after)
    if health_path is not None:
        api.include_router(health_router(readiness or Readiness(), health_path))
    problem_openapi(api)
    return api


def application_of(request: Request) -> Application:
    """The facta application serving ``request``."""
    application: Application = request.app.state.facta
    return application


def _mediator(request: Request) -> Mediator:
    return application_of(request).mediator


ApplicationDep = Annotated[Application, Depends(application_of)]
"""A route parameter that receives the facta application."""

MediatorDep = Annotated[Mediator, Depends(_mediator)]
"""A route parameter that receives the mediator: ``async def place(m: MediatorDep)``."""


class OperationMiddleware:
    """Runs each HTTP request in its own operation scope, in the caller's trace."""

    def __init__(self, app: ASGIApp, application: Application) -> None:
        self._app = app
        self._application = application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in scope.get("headers", ())
        }
        method, path = scope["method"], scope["path"]
        instrumentation = self._application.mediator.instrumentation
        with (
            trace_context(headers.get("traceparent")),
            instrumentation.serving(method, path, headers) as exchange,
        ):

            async def noting(message: Message) -> None:
                if message["type"] == "http.response.start":
                    exchange.respond(message["status"])
                await send(message)

            try:
                async with self._application.operation(f"{method} {path}"):
                    await self._app(scope, receive, noting)
            finally:
                route = getattr(scope.get("route"), "path", None)
                if isinstance(route, str):
                    exchange.route(route)


def install_problem_handlers(
    api: FastAPI, *, problem_base: str = "urn:facta:problem:", retry_after: int = 1
) -> None:
    """Answer facta's errors, validation errors and HTTP errors as problem+json."""

    async def not_found(request: Request, error: Exception) -> Response:
        return Problem.of(404, str(error), title="Not found").response()

    async def refused(request: Request, error: Exception) -> Response:
        assert isinstance(error, DomainError)
        return Problem.of(
            409,
            str(error),
            type=f"{problem_base}{error.code}",
            title=error.title,
            extensions={"code": error.code},
        ).response()

    async def conflict(request: Request, error: Exception) -> Response:
        return Problem.of(
            409,
            "another request changed the same data at the same time, and this one was not "
            "applied; send it again",
            type=CONFLICT,
            title="Conflict with a concurrent change",
        ).response({"Retry-After": str(retry_after)})

    async def invalid_message(request: Request, error: Exception) -> Response:
        assert isinstance(error, MessageValidationError)
        return Problem.of(
            422,
            f"the {error.message_type} is not valid",
            type=VALIDATION,
            title="Invalid input",
            errors=error.errors,
        ).response()

    async def invalid_request(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        errors = [
            FieldError(
                location=tuple(part for part in item.get("loc", ()) if part != "body"),
                message=str(item.get("msg", "invalid")),
                code=str(item.get("type", "invalid")),
            )
            for item in error.errors()
        ]
        return Problem.of(
            422,
            "the request is not valid",
            type=VALIDATION,
            title="Invalid input",
            errors=errors,
        ).response()

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        if error.status_code == 400 and isinstance(error.__cause__, UnicodeDecodeError):
            return Problem.of(  # bad input like malformed JSON, not a broken request
                422,
                "the request body is not valid UTF-8",
                type=VALIDATION,
                title="Invalid input",
                errors=[FieldError((), str(error.__cause__), "utf8_invalid")],
            ).response()
        headers = dict(error.headers) if error.headers else {}
        if error.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return Problem.of(error.status_code, str(error.detail)).response(headers or None)

    async def unexpected(request: Request, error: Exception) -> Response:
        _log.error("%s %s failed", request.method, request.url.path, exc_info=error)
        return Problem.of(
            500, "the server could not handle the request; it has been logged"
        ).response()

    api.add_exception_handler(NotFound, not_found)
    api.add_exception_handler(ConcurrencyError, conflict)
    api.add_exception_handler(DomainError, refused)
    api.add_exception_handler(MessageValidationError, invalid_message)
    api.add_exception_handler(RequestValidationError, invalid_request)
    api.add_exception_handler(HTTPException, http_error)
    api.add_exception_handler(Exception, unexpected)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette names only the
    methods of the first route that matched the path)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


def problem_openapi(api: FastAPI) -> None:
    """Document every error answer of ``api`` as ``application/problem+json``, as served.

    FastAPI documents its own 422 answers as ``application/json`` with its validation
    schema; this replaces every 4xx and 5xx response's content with the problem schema.
    """
    generate = api.openapi

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is not None:
            return api.openapi_schema
        document = generate()
        problem = {PROBLEM_CONTENT_TYPE: {"schema": problem_schema()}}
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    if str(status)[:1] in ("4", "5"):
                        response["content"] = copy.deepcopy(problem)
        schemas = document.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            schemas.pop(unused, None)
        api.openapi_schema = document
        return document

    api.openapi = openapi  # type: ignore[method-assign]
