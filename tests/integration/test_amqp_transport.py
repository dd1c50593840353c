"""The publisher's coalescing writes: while many publishes await their confirms, the
messages of a short window leave in one send, in order; otherwise each leaves at once;
nothing held is lost when the writer drains or closes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from facta.integration.amqp import AmqpPublisher
from facta.integration.amqp.transport import CoalescingWriter
from integration.amqp_support import Broker, order_placed

WINDOW = 0.01


class Recording(asyncio.WriteTransport):
    """A transport that keeps what is written to it, one entry per write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.closing = True

    def get_write_buffer_size(self) -> int:
        return 0


class Busy:
    """Whether the writer's publisher counts as busy; switched by the test."""

    def __init__(self, busy: bool) -> None:
        self.busy = busy

    def __call__(self) -> bool:
        return self.busy


@pytest.fixture
def busy() -> Busy:
    return Busy(True)


@pytest.fixture
async def stream(busy: Busy) -> AsyncIterator[CoalescingWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    protocol = asyncio.StreamReaderProtocol(reader)
    writer = CoalescingWriter(Recording(), protocol, reader, loop, window=WINDOW, busy=busy)
    yield writer
    writer.close()


def written(stream: CoalescingWriter) -> list[bytes]:
    """What reached the transport, one entry per write."""
    assert isinstance(stream.transport, Recording)
    return stream.transport.writes


async def test_a_publisher_that_is_not_busy_writes_each_message_at_once(
    stream: CoalescingWriter, busy: Busy
) -> None:
    busy.busy = False

    stream.write(b"one")
    stream.write(b"two")

    assert written(stream) == [b"one", b"two"]


async def test_while_busy_the_writes_of_one_window_leave_in_one_piece_in_order(
    stream: CoalescingWriter,
) -> None:
    for part in (b"one", b"two", b"three"):
        stream.write(part)
    assert written(stream) == []
    await asyncio.sleep(WINDOW * 3)

    assert written(stream) == [b"onetwothree"]


async def test_a_write_after_the_publisher_calmed_down_follows_what_was_held(
    stream: CoalescingWriter, busy: Busy
) -> None:
    stream.write(b"held")
    busy.busy = False
    stream.write(b"later")  # the window is open: it joins, so the order holds
    await asyncio.sleep(WINDOW * 3)
    stream.write(b"alone")

    assert written(stream) == [b"heldlater", b"alone"]


@pytest.mark.parametrize("hand_over", ["drain", "close", "write_eof"])
async def test_draining_or_closing_hands_over_what_is_held_first(
    stream: CoalescingWriter, hand_over: str
) -> None:
    stream.write(b"held")

    if hand_over == "drain":
        await stream.drain()
    else:
        getattr(stream, hand_over)()

    assert written(stream) == [b"held"]


@pytest.fixture
async def broker() -> AsyncIterator[Broker]:
    async with Broker.open() as broker:
        yield broker


async def test_a_busy_publisher_gets_every_message_confirmed_and_delivered_in_order(
    broker: Broker,
) -> None:
    exchange = broker.name("events")
    observer = await broker.observe(exchange)
    events = [order_placed(order_id=f"o-{number}") for number in range(300)]

    async with AmqpPublisher(broker.url, exchange) as publisher:
        await publisher.publish(events)  # 300 at once: busy, so coalesced

    messages = await broker.collect(observer, len(events))
    assert [json.loads(message.body)["id"] for message in messages] == [
        event.get_id() for event in events
    ]
