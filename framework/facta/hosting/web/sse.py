"""Server-Sent Events: push small messages to browsers that keep a stream open.

A ``Broadcaster`` fans messages out to every open stream of one application; bind one
per application in its container, ``publish`` to it from a domain event handler (so a
message goes out only for committed events), and answer a route with
``event_stream(broadcaster)``::

    changes = Broadcaster()
    builder.add_module(lambda binder: binder.bind(Broadcaster, to=changes))

    class NotifyBoard(DomainEventHandler[OrderPlaced]):
        def __init__(self, changes: Broadcaster) -> None:
            self._changes = changes

        async def handle(self, event: OrderPlaced) -> None:
            self._changes.publish({"order_id": event.aggregate_id}, event="board")

    @router.get("/board/events", status_code=200, response_class=EventStreamResponse)
    async def board_events(app: ApplicationDep) -> EventStreamResponse:
        return event_stream(app.get(Broadcaster))

The stream's headers tell proxies not to buffer or cache it. Under uvicorn, an open
stream holds the server's shutdown until ``timeout_graceful_shutdown``: close the
broadcaster when shutdown begins (override ``uvicorn.Server.shutdown``), since the app's
lifespan ends only after the connections have closed.

The stream is ``text/event-stream``. It starts with a ``retry`` hint, sends a comment as
a heartbeat when it has been quiet for ``heartbeat`` seconds (so proxies keep it open and
a vanished client is noticed), and unsubscribes when the client disconnects or the
broadcaster is closed (``close()``, when the server shuts down, ends every stream).

Each subscriber has a bounded queue: a subscriber that does not keep up loses its
oldest messages rather than holding memory or slowing the publisher. Messages are
notifications to refetch, not a log to replay; a client that reconnects should refetch.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from pydantic import JsonValue
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

__all__ = [
    "EVENT_STREAM_CONTENT_TYPE",
    "Broadcaster",
    "EventStreamResponse",
    "ServerSentEvent",
    "Subscription",
    "event_stream",
]

EVENT_STREAM_CONTENT_TYPE = "text/event-stream"
"""The media type of a Server-Sent Events stream."""

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

DEFAULT_HEARTBEAT = 15.0
"""Seconds of quiet after which a stream sends a heartbeat comment."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One message of an event stream: its ``data``, and optionally its name and id."""

    data: str
    event: str | None = None
    id: str | None = None

    def encode(self) -> bytes:
        """The message in the ``text/event-stream`` format, ending with a blank line."""
        lines = []
        if self.event is not None:
            lines.append(f"event: {_one_line(self.event)}")
        if self.id is not None:
            lines.append(f"id: {_one_line(self.id)}")
        lines.extend(f"data: {line}" for line in _LINE_BREAK.split(self.data))
        return ("\n".join(lines) + "\n\n").encode()


def _one_line(value: str) -> str:
    if "\n" in value or "\r" in value:
        raise ValueError(f"an event's name and id must be one line: {value!r}")
    return value


class Subscription:
    """One open stream's queue of messages; ``None`` from ``get()`` means it has ended."""

    def __init__(self, broadcaster: Broadcaster, max_queued: int) -> None:
        self._broadcaster = broadcaster
        self._queue: asyncio.Queue[ServerSentEvent | None] = asyncio.Queue(max_queued + 1)
        self._max_queued = max_queued
        self._loop = asyncio.get_running_loop()
        self.dropped = 0
        """How many messages this subscriber lost because it did not keep up."""

    async def get(self) -> ServerSentEvent | None:
        """The next message, waiting for one; None once the stream has ended."""
        return await self._queue.get()

    def close(self) -> None:
        """Stop receiving messages; idempotent."""
        self._broadcaster._remove(self)

    def _offer(self, message: ServerSentEvent | None) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._put(message)
        else:  # another thread or loop: hand it over to the subscriber's loop
            self._loop.call_soon_threadsafe(self._put, message)

    def _put(self, message: ServerSentEvent | None) -> None:
        if message is not None and self._queue.qsize() >= self._max_queued:
            self._queue.get_nowait()  # keep the newest: the oldest is the least useful
            self.dropped += 1
        self._queue.put_nowait(message)


class Broadcaster:
    """Sends each published message to every current subscriber; one per application.

    ``publish`` never blocks and may be called from any thread. ``close()`` ends every
    stream and every later subscription at once (the server is shutting down).
    """

    def __init__(self, *, max_queued: int = 64) -> None:
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._max_queued = max_queued
        self._subscriptions: set[Subscription] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def subscribers(self) -> int:
        """How many streams are open."""
        return len(self._subscriptions)

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    def subscribe(self) -> Subscription:
        """A new subscription, receiving every message published from now on.

        Call it on the event loop that will read it; ``close()`` it when done.
        """
        subscription = Subscription(self, self._max_queued)
        with self._lock:
            if self._closed:
                subscription._put(None)
            else:
                self._subscriptions.add(subscription)
        return subscription

    def publish(
        self, data: JsonValue | str, *, event: str | None = None, id: str | None = None
    ) -> int:
        """Send a message to every subscriber; answer how many there were.

        ``data`` that is not a string is sent as JSON.
        """
        text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
        message = ServerSentEvent(text, event=event, id=id)
        with self._lock:
            subscriptions = tuple(self._subscriptions)
        for subscription in subscriptions:
            subscription._offer(message)
        return len(subscriptions)

    def close(self) -> None:
        """End every open stream, and every stream opened later; idempotent."""
        with self._lock:
            self._closed = True
            subscriptions = tuple(self._subscriptions)
            self._subscriptions.clear()
        for subscription in subscriptions:
            subscription._offer(None)

    def _remove(self, subscription: Subscription) -> None:
        with self._lock:
            self._subscriptions.discard(subscription)


class EventStreamResponse(StreamingResponse):
    """A ``text/event-stream`` response that closes its subscription however it ends."""

    media_type = EVENT_STREAM_CONTENT_TYPE

    def __init__(
        self,
        subscription: Subscription,
        *,
        heartbeat: float = DEFAULT_HEARTBEAT,
        retry_ms: int | None = 3000,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.subscription = subscription
        self._stream = _messages(subscription, heartbeat, retry_ms)
        super().__init__(
            self._stream,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})},
            background=BackgroundTask(subscription.close),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.subscription.close()
            await self._stream.aclose()


async def _messages(
    subscription: Subscription, heartbeat: float, retry_ms: int | None
) -> AsyncGenerator[bytes, None]:
    try:
        yield b": stream open\n" + (f"retry: {retry_ms}\n" if retry_ms else "").encode() + b"\n"
        while True:
            try:
                message = await asyncio.wait_for(subscription.get(), heartbeat)
            except TimeoutError:
                yield b": heartbeat\n\n"
                continue
            if message is None:
                return
            yield message.encode()
    finally:
        subscription.close()


def event_stream(
    broadcaster: Broadcaster,
    *,
    heartbeat: float = DEFAULT_HEARTBEAT,
    retry_ms: int | None = 3000,
    headers: dict[str, str] | None = None,
) -> EventStreamResponse:
    """A response streaming what ``broadcaster`` publishes from now on, until the client
    goes or the broadcaster is closed.

    ``heartbeat`` is the longest quiet, in seconds, before a comment is sent;
    ``retry_ms`` tells the browser how long to wait before reconnecting (None: its
    default).
    """
    if heartbeat <= 0:
        raise ValueError("heartbeat must be positive")
    return EventStreamResponse(
        broadcaster.subscribe(), heartbeat=heartbeat, retry_ms=retry_ms, headers=headers
    )
