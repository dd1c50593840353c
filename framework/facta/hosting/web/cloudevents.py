"""The CloudEvents ingestion endpoint: other services POST events, typed handlers run.

``cloudevents_router(app)`` is a FastAPI router with

- ``POST /events``: one event in binary or structured mode, or a JSON batch. Every event
  is validated before any handler runs, then each goes through ``Application.ingestor``
  (typed handlers, each in its own unit of work, with an inbox). The answer is 200 with a
  summary: per event, whether it was processed or a duplicate of one already processed.
- ``GET /events/schemas/{type}.json``: the JSON schema of a contract this service
  publishes or accepts, so that the ``dataschema`` of its events resolves.
- ``OPTIONS /events``: the CloudEvents webhook validation handshake.

Every error is an ``application/problem+json`` answer (RFC 9457). Input that can never be
processed gets a 4xx and writes nothing, so the sender should not retry it:

- 400 ``urn:facta:problem:invalid-cloudevent``: not a valid CloudEvents 1.0 request
  (an attribute that breaks the specification's type system, JSON nested deeper than
  ``IngestionLimits.max_depth``, ...);
- 400 ``urn:facta:problem:unknown-event-type``: no handler or upcaster takes the type
  (``accepted_types`` lists those that do);
- 400 ``urn:facta:problem:invalid-event-data``: the data does not fit the contract
  (``errors`` lists the fields, with JSON Pointers into the request body);
- 413 ``about:blank``: the body is larger than ``max_body_size``;
- 415 ``about:blank``: neither binary mode nor a JSON structured or batch content type;
- 422 ``urn:facta:problem:event-refused``: a handler refused the event for good (it
  raised a ``PermanentFailure``, a ``DomainError`` or a validation error).

A handler that fails otherwise is a 500 (``urn:facta:problem:event-handling-failed``), a
store that cannot be reached a 503 with ``Retry-After``: the sender should send the same
event again later, and the inbox makes sure that the handlers that already succeeded do
not run twice. Those answers name the event but never the exception, which is logged.
Copies of one event sent at once are each answered 200: one runs the handlers, the others
are duplicates.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, JsonValue

from facta.errors import (
    EventHandlingError,
    InvalidCloudEvent,
    InvalidEventData,
    PersistenceError,
    UnknownEventType,
)
from facta.hosting.application import Application
from facta.hosting.web.problems import Problem, problem_responses
from facta.integration.cloudevents import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    read_http,
)
from facta.integration.ingestion import REFUSALS, IngestResult, is_permanent, is_transient
from facta.integration.limits import DEFAULT_MAX_BODY_SIZE, IngestionLimits

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "EVENT_REFUSED",
    "HANDLING_FAILED",
    "INVALID_CLOUDEVENT",
    "INVALID_EVENT_DATA",
    "UNKNOWN_EVENT_TYPE",
    "IngestedEvent",
    "IngestionSummary",
    "cloudevents_router",
]

INVALID_CLOUDEVENT = "urn:facta:problem:invalid-cloudevent"
"""The problem type of a request that is not a valid CloudEvent."""
UNKNOWN_EVENT_TYPE = "urn:facta:problem:unknown-event-type"
"""The problem type of an event whose type this service does not accept."""
INVALID_EVENT_DATA = "urn:facta:problem:invalid-event-data"
"""The problem type of an event whose data does not fit its contract."""
HANDLING_FAILED = "urn:facta:problem:event-handling-failed"
"""The problem type of an event a handler failed on; send it again later."""
EVENT_REFUSED = "urn:facta:problem:event-refused"
"""The problem type of an event a handler refused for good (``PermanentFailure``, a
business rule, invalid input); sending it again will not help."""
RETRY_AFTER_SECONDS = 5
"""The ``Retry-After`` of a 503: how long a sender should wait before sending again."""

_log = logging.getLogger("facta.web.cloudevents")
_DRAIN_FACTOR = 16  # a refused oversized body is read (and dropped) up to this many limits


class IngestedEvent(BaseModel):
    """What the endpoint did with one received event.

    ``outcome`` is ``"processed"`` when at least one handler ran, ``"duplicate"`` when
    every handler had already processed an event with this ``source`` and ``id``.
    ``handled_as`` is the type the handlers took (after upcasting an older version).
    """

    model_config = ConfigDict(frozen=True)

    id: str
    source: str
    type: str
    handled_as: str
    outcome: Literal["processed", "duplicate"]
    handled: int
    duplicates: int


class IngestionSummary(BaseModel):
    """The answer to an accepted request: one entry per event, in the order received."""

    model_config = ConfigDict(frozen=True)

    events: tuple[IngestedEvent, ...]


class _BodyTooLarge(Exception):
    pass


def cloudevents_router(
    app: Application,
    path: str = "/events",
    *,
    limits: IngestionLimits | None = None,
    max_body_size: int | None = None,
    allowed_origins: Collection[str] | None = None,
) -> APIRouter:
    """A FastAPI router that receives CloudEvents for ``app``'s integration event handlers.

    ``path`` is where events are POSTed (schemas are served under ``{path}/schemas/``).
    ``limits`` caps the body size (a larger body is refused with 413) and the JSON
    nesting depth (deeper is a 400); the defaults are ``IngestionLimits()``: 1 MiB and 64
    levels. ``max_body_size`` alone sets the body size (the older spelling).
    ``allowed_origins`` limits which senders pass the webhook validation handshake
    (``None``: any).
    Include it in your FastAPI application: ``api.include_router(cloudevents_router(app))``.
    """
    if not path.startswith("/"):
        raise ValueError(f"the path must start with '/', not {path!r}")
    if limits is None:
        size = DEFAULT_MAX_BODY_SIZE if max_body_size is None else max_body_size
        limits = IngestionLimits(max_body_size=size)
    elif max_body_size is not None:
        raise ValueError("give the body size in limits or in max_body_size, not both")
    max_size = limits.max_body_size
    path = path.rstrip("/") or "/"
    schemas_path = f"{path.rstrip('/')}/schemas/{{cloudevent_type}}.json"
    origins = None if allowed_origins is None else frozenset(allowed_origins)
    router = APIRouter(tags=["CloudEvents"])

    async def receive(request: Request) -> Response:
        try:
            body = await _read_body(request, max_size)
        except _BodyTooLarge:
            return _refuse(
                Problem.of(413, f"the body is larger than the limit of {max_size} bytes")
            )
        headers = dict(request.headers)
        unsupported = _unsupported_media_type(headers)
        if unsupported is not None:
            return _refuse(
                Problem.of(415, unsupported),
                {"accept": f"{STRUCTURED_CONTENT_TYPE}, {BATCH_CONTENT_TYPE}"},
            )
        try:
            events = read_http(headers, body, limits=limits)
        except InvalidCloudEvent as error:
            return _refuse(
                Problem.of(400, error.reason, type=INVALID_CLOUDEVENT, title="Invalid CloudEvent")
            )
        try:
            results = await app.ingestor.ingest_all(events)
        except REFUSALS:
            return _refuse(_refusal(app, events, _mode(headers)))
        except EventHandlingError as error:
            return _handling_failed(error)
        except PersistenceError:
            _log.exception("the store failed while ingesting CloudEvents; answered 503")
            return _unavailable()
        except Exception:
            _log.exception("ingesting CloudEvents failed unexpectedly; answered 500")
            return Problem.of(
                500, "the events could not be processed; send them again later"
            ).response()
        summary = IngestionSummary(
            events=tuple(
                _summary(event, result) for event, result in zip(events, results, strict=True)
            )
        )
        return JSONResponse(summary.model_dump(mode="json"))

    async def schema(cloudevent_type: str) -> Response:
        contract = app.registry.integration_type(cloudevent_type)
        if contract is None:
            return Problem.of(
                404, f"this service has no contract for CloudEvent type {cloudevent_type!r}"
            ).response()
        return JSONResponse(contract.json_schema(), media_type="application/schema+json")

    async def handshake(request: Request) -> Response:
        origin = request.headers.get("webhook-request-origin")
        if origin is None:
            return Response(status_code=204, headers={"allow": "OPTIONS, POST"})
        if origins is not None and origin not in origins:
            return _refuse(Problem.of(403, f"events from {origin!r} are not accepted here"))
        headers = {"allow": "OPTIONS, POST", "webhook-allowed-origin": origin}
        if request.headers.get("webhook-request-rate") is not None:
            headers["webhook-allowed-rate"] = "*"
        return Response(status_code=200, headers=headers)

    router.add_api_route(
        path,
        receive,
        methods=["POST"],
        response_model=None,
        summary="Receive CloudEvents",
        description=(
            "One CloudEvent in binary or structured mode, or a JSON batch. Errors are "
            "application/problem+json; a 4xx will never succeed, a 5xx may on a retry."
        ),
        responses={
            200: {"model": IngestionSummary, "description": "Every event was processed"},
            **problem_responses(400, 413, 415, 422, 500, 503),
        },
        openapi_extra={"requestBody": _REQUEST_BODY},
    )
    router.add_api_route(
        schemas_path,
        schema,
        methods=["GET"],
        response_model=None,
        summary="The JSON schema of a CloudEvent type's data",
        responses={
            200: {"content": {"application/schema+json": {}}, "description": "The schema"},
            **problem_responses(404),
        },
    )
    router.add_api_route(
        path,
        handshake,
        methods=["OPTIONS"],
        response_model=None,
        summary="CloudEvents webhook validation handshake",
        include_in_schema=False,
    )
    return router


_REQUEST_BODY = {
    "required": True,
    "content": {
        STRUCTURED_CONTENT_TYPE: {"schema": {"type": "object"}},
        BATCH_CONTENT_TYPE: {"schema": {"type": "array", "items": {"type": "object"}}},
        "*/*": {"schema": {}, "description": "binary mode: the attributes in ce- headers"},
    },
}


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, or ``_BodyTooLarge`` once it passes ``limit`` (the rest is drained)."""
    declared = request.headers.get("content-length", "")
    too_large = declared.isdigit() and int(declared) > limit
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            too_large = True
        if too_large:
            if received > limit * _DRAIN_FACTOR:
                break  # stop reading; the server closes the connection after answering
            continue
        body += chunk
    if too_large:
        raise _BodyTooLarge
    return bytes(body)


def _content_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _mode(headers: dict[str, str]) -> str:
    content_type = _content_type(headers)
    if content_type == BATCH_CONTENT_TYPE:
        return "batch"
    return "structured" if content_type == STRUCTURED_CONTENT_TYPE else "binary"


def _unsupported_media_type(headers: dict[str, str]) -> str | None:
    """Why the request is in no content mode this endpoint reads, or None."""
    content_type = _content_type(headers)
    if content_type in (STRUCTURED_CONTENT_TYPE, BATCH_CONTENT_TYPE):
        return None
    if content_type.startswith("application/cloudevents"):
        return (
            f"the event format {content_type} is not supported: send "
            f"{STRUCTURED_CONTENT_TYPE} or {BATCH_CONTENT_TYPE}"
        )
    if any(name.startswith("ce-") for name in headers):
        return None
    return (
        f"the content type is {content_type or 'missing'} and there are no ce- headers: send "
        f"one event in binary mode (its attributes as ce- headers), or "
        f"{STRUCTURED_CONTENT_TYPE}, or {BATCH_CONTENT_TYPE}"
    )


def _refusal(app: Application, events: Sequence[CloudEvent], mode: str) -> Problem:
    """The problem of the first event that ``validate`` refuses (only on the error path)."""
    batch = mode == "batch"
    for index, event in enumerate(events):
        where = f"event {index} of the batch ({event.get_id()}): " if batch else ""
        extensions: dict[str, JsonValue] = {"event_id": event.get_id()}
        if batch:
            extensions["event_index"] = index
        try:
            app.ingestor.validate(event)
        except UnknownEventType as error:
            return Problem.of(
                400,
                f"{where}{error}",
                type=UNKNOWN_EVENT_TYPE,
                title="Unknown event type",
                extensions={**extensions, "accepted_types": list(error.known)},
            )
        except InvalidEventData as error:
            pointer = {"batch": f"#/{index}/data", "structured": "#/data"}.get(mode, "#")
            return Problem.of(
                400,
                f"{where}{error}",
                type=INVALID_EVENT_DATA,
                title="Invalid event data",
                errors=error.errors,
                pointer_base=pointer,
                extensions=extensions,
            )
    return Problem.of(400, "the events were refused", type=INVALID_CLOUDEVENT)


def _handling_failed(error: EventHandlingError) -> Response:
    """The answer when handlers failed: 422 if retrying cannot help, 503 for an outage."""
    extensions: dict[str, JsonValue] = {"event_id": error.event_id}
    if is_permanent(error):
        return _refuse(
            Problem.of(
                422,
                "a handler refused this event for good; what it did was not committed. "
                "Sending it again will not help.",
                type=EVENT_REFUSED,
                title="Event refused",
                extensions=extensions,
            )
        )
    if is_transient(error):
        _log.error(
            "a store or broker failed while handling CloudEvent %s (%s); answered 503",
            error.event_id,
            error.event_type,
        )
        return _unavailable(extensions)
    _log.error(
        "%d handler(s) failed on CloudEvent %s (%s); answered 500 so that the sender retries",
        len(error.failures),
        error.event_id,
        error.event_type,
    )
    return Problem.of(
        500,
        "a handler of this event failed; what it did was not committed. Send the same "
        "event again later: handlers that succeeded will not run twice.",
        type=HANDLING_FAILED,
        title="Event handling failed",
        extensions=extensions,
    ).response()


def _unavailable(extensions: dict[str, JsonValue] | None = None) -> Response:
    return Problem.of(
        503,
        "the events cannot be stored now; send them again later",
        extensions=extensions,
    ).response({"retry-after": str(RETRY_AFTER_SECONDS)})


def _refuse(problem: Problem, headers: dict[str, str] | None = None) -> Response:
    if _log.isEnabledFor(logging.INFO):
        _log.info("refused a CloudEvents request with %d: %s", problem.status, problem.detail)
    return problem.response(headers)


def _summary(event: CloudEvent, result: IngestResult) -> IngestedEvent:
    return IngestedEvent(
        id=event.get_id(),
        source=event.get_source(),
        type=event.get_type(),
        handled_as=result.event_type,
        outcome="processed" if result.handled or not result.duplicates else "duplicate",
        handled=len(result.handled),
        duplicates=len(result.duplicates),
    )
