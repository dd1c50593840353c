"""Server-Sent Events: a broadcaster fans messages out to every open stream, a stream sends
heartbeats when quiet, and a stream that ends (client gone, broadcaster closed) unsubscribes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from fastapi import FastAPI

from facta.hosting.web.sse import Broadcaster, ServerSentEvent, event_stream


def test_an_event_is_encoded_in_the_event_stream_format() -> None:
    message = ServerSentEvent('{"a":1}\nsecond line\r\nthird', event="board", id="7")

    assert message.encode() == (
        b'event: board\nid: 7\ndata: {"a":1}\ndata: second line\ndata: third\n\n'
    )
    assert ServerSentEvent("").encode() == b"data: \n\n"


def test_an_event_name_on_two_lines_is_refused() -> None:
    with pytest.raises(ValueError, match="one line"):
        ServerSentEvent("x", event="board\ndata: forged").encode()


async def test_every_subscriber_gets_every_message_as_json() -> None:
    changes = Broadcaster()
    first, second = changes.subscribe(), changes.subscribe()

    assert changes.publish({"order_id": "o-1"}, event="board") == 2
    first.close()
    assert changes.publish("plain text") == 1

    assert await first.get() == ServerSentEvent('{"order_id":"o-1"}', event="board")
    assert [await second.get(), await second.get()] == [
        ServerSentEvent('{"order_id":"o-1"}', event="board"),
        ServerSentEvent("plain text"),
    ]
    assert changes.subscribers == 1


async def test_a_slow_subscriber_loses_its_oldest_messages_not_the_newest() -> None:
    changes = Broadcaster(max_queued=2)
    slow = changes.subscribe()

    for number in range(5):
        changes.publish(str(number))

    assert [(await slow.get()).data for _ in range(2)] == ["3", "4"]  # type: ignore[union-attr]
    assert slow.dropped == 3


async def test_closing_ends_every_stream_and_every_later_one() -> None:
    changes = Broadcaster()
    open_one = changes.subscribe()

    changes.close()

    assert await open_one.get() is None
    assert await changes.subscribe().get() is None
    assert (changes.subscribers, changes.publish("late")) == (0, 0)


async def test_a_message_published_from_another_thread_arrives() -> None:
    changes = Broadcaster()
    subscription = changes.subscribe()

    thread = threading.Thread(target=changes.publish, args=("from a thread",))
    thread.start()
    thread.join()

    message = await asyncio.wait_for(subscription.get(), 2)
    assert message == ServerSentEvent("from a thread")


@asynccontextmanager
async def streaming(app: FastAPI, path: str) -> AsyncIterator[asyncio.Queue[bytes]]:
    """Call ``app`` at ``path`` in process, yielding the body chunks as they are sent;
    disconnect when the block ends."""
    chunks: asyncio.Queue[bytes] = asyncio.Queue()
    started, gone = asyncio.Event(), asyncio.Event()
    head: dict[str, Any] = {}

    async def receive() -> dict[str, Any]:
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            head.update(message)
            started.set()
        elif message.get("body") or not message.get("more_body"):
            chunks.put_nowait(message.get("body", b""))  # b"": the response ended

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test")],
        "server": ("test", 80),
        "client": ("127.0.0.1", 50000),
    }
    task = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(started.wait(), 5)
    headers = dict(head["headers"])
    assert headers[b"content-type"].startswith(b"text/event-stream")
    assert headers[b"cache-control"] == b"no-cache"
    try:
        yield chunks
    finally:
        gone.set()
        await asyncio.wait_for(task, 5)


def app_streaming(changes: Broadcaster, heartbeat: float = 15.0) -> FastAPI:
    app = FastAPI()

    @app.get("/events")
    async def events() -> Any:
        return event_stream(changes, heartbeat=heartbeat, retry_ms=1500)

    return app


async def test_a_stream_sends_what_is_published_and_lets_go_when_the_client_leaves() -> None:
    changes = Broadcaster()
    async with streaming(app_streaming(changes), "/events") as chunks:
        assert await chunks.get() == b": stream open\nretry: 1500\n\n"
        assert changes.subscribers == 1
        changes.publish({"n": 1}, event="board")

        assert await asyncio.wait_for(chunks.get(), 2) == b'event: board\ndata: {"n":1}\n\n'

    assert changes.subscribers == 0


async def test_a_quiet_stream_sends_heartbeats() -> None:
    changes = Broadcaster()
    async with streaming(app_streaming(changes, heartbeat=0.05), "/events") as chunks:
        await chunks.get()

        assert await asyncio.wait_for(chunks.get(), 2) == b": heartbeat\n\n"


async def test_closing_the_broadcaster_ends_the_response() -> None:
    changes = Broadcaster()
    app = app_streaming(changes)
    async with streaming(app, "/events") as chunks:
        await chunks.get()

        changes.close()

        assert await asyncio.wait_for(chunks.get(), 2) == b""  # the end, before the client left
    assert changes.subscribers == 0


def test_a_heartbeat_must_be_positive() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        event_stream(Broadcaster(), heartbeat=0)
