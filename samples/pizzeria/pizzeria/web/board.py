"""The live kitchen board: a page, and the Server-Sent Events that keep it current.

Two domain event handlers publish a small "board changed" message to the application's
``BoardChanges`` broadcaster when an order or the kitchen changes. They run after the
commit, so only committed changes are announced, and after the kitchen board's
projection of the same event (handlers of one event class run in registration order,
and these are added after the scanned projection), so a page that refetches on the
message reads the new state. ``GET /board/events`` streams the messages; the page
(``static/board.html``) refetches ``GET /kitchen`` and the ready orders on each one.

Messages are notifications, not a log: a board that reconnects refetches everything.
When the board's projection could not apply an event at once (it failed, or the event
had to wait for an earlier one of its order), the relay applies it later without a new
message: the page shows it at the next change. Changes made by another process on the
same database (the relay of another instance, a script) reach the boards of that
process only.
"""

from __future__ import annotations

from pathlib import Path

import injector
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from facta import DomainEventHandler
from facta.hosting.web.application import application_of
from facta.hosting.web.sse import (
    EVENT_STREAM_CONTENT_TYPE,
    Broadcaster,
    EventStreamResponse,
    event_stream,
)
from pizzeria.domain.kitchen import KitchenSlotsChanged
from pizzeria.domain.order import OrderEvent, OrderStatusChanged

__all__ = [
    "BOARD_EVENT",
    "STATIC",
    "BoardChanges",
    "BoardModule",
    "NotifyBoardOfKitchen",
    "NotifyBoardOfOrders",
    "board_router",
    "board_static",
]

BOARD_EVENT = "board"
"""The name of the Server-Sent Event that says the board changed."""

STATIC = Path(__file__).parent / "static"
"""The board's page, script and style sheet."""

_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


class BoardChanges(Broadcaster):
    """The broadcaster of one application's board changes."""


class BoardModule(injector.Module):
    """Binds a new ``BoardChanges`` for each application built with it."""

    def configure(self, binder: injector.Binder) -> None:
        binder.bind(BoardChanges, to=BoardChanges(), scope=injector.SingletonScope)


# --8<-- [start:notifiers]
class NotifyBoardOfOrders(DomainEventHandler[OrderEvent]):
    """Announces that an order moved (it was placed and confirmed, cooked, dispatched...)."""

    def __init__(self, changes: BoardChanges) -> None:
        self._changes = changes

    async def handle(self, event: OrderEvent) -> None:
        if not isinstance(event, OrderStatusChanged):
            return  # lines added or removed while pending: not on the board
        self._changes.publish(
            {
                "event": event.event_type,
                "order_id": event.aggregate_id,
                "status": event.new_status.value,
            },
            event=BOARD_EVENT,
        )


class NotifyBoardOfKitchen(DomainEventHandler[KitchenSlotsChanged]):
    """Announces that a cooking slot was taken or freed."""

    def __init__(self, changes: BoardChanges) -> None:
        self._changes = changes

    async def handle(self, event: KitchenSlotsChanged) -> None:
        self._changes.publish(
            {
                "event": event.event_type,
                "order_id": event.order_id,
                "free_slots": event.capacity - len(event.cooking),
            },
            event=BOARD_EVENT,
        )


# --8<-- [end:notifiers]


board_router = APIRouter(tags=["kitchen board"])


@board_router.get("/", include_in_schema=False)
async def home() -> RedirectResponse:
    """The service's home is the kitchen board."""
    return RedirectResponse("/board", status_code=307)


@board_router.get(
    "/board",
    response_class=HTMLResponse,
    summary="The live kitchen board (HTML)",
)
async def board_page() -> FileResponse:
    """The kitchen board: confirmed, cooking and ready orders, and the free slots, kept
    current by ``/board/events``. Its buttons need the staff token, typed into the page
    once (it stays in the browser's local storage)."""
    return FileResponse(
        STATIC / "board.html",
        media_type="text/html",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


@board_router.get(
    "/board/events",
    status_code=200,
    summary="Board changes as Server-Sent Events",
    response_class=EventStreamResponse,
    responses={
        200: {
            "content": {EVENT_STREAM_CONTENT_TYPE: {"schema": {"type": "string"}}},
            "description": (
                f"A `{BOARD_EVENT}` event with a small JSON object (`event`, `order_id`, and "
                "`status` or `free_slots`) whenever an order or the kitchen changes; a "
                "comment as a heartbeat every 15 s of quiet."
            ),
        }
    },
)
async def board_events(request: Request) -> EventStreamResponse:
    """Stream a message for every change of the board, until the client goes."""
    return event_stream(application_of(request).get(BoardChanges))


def board_static() -> StaticFiles:
    """The board's script and style sheet, to mount at ``/board/static``."""
    return StaticFiles(directory=STATIC)
