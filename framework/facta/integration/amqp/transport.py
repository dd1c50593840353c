"""The publisher's connection to RabbitMQ: while many messages await their confirms, the
writes of a short window leave in one send.

aiormq writes each published message to its socket as soon as its writer task takes it:
one ``send`` system call per message. On this machine that call is the largest single
cost of a publish (about 40 µs: it runs the network stack and wakes the broker), and a
relay delivering with ``DeliverySettings.concurrency`` above 1 publishes a steady stream
of messages, each from its own worker, one per loop turn. ``CoalescingWriter`` holds the
writes made while the publisher is *busy* (many confirms outstanding) for up to a
window (``AmqpPublisher(coalesce_window=...)``, 1 ms by default) and hands them to the
socket in one piece, much as Nagle's algorithm does for TCP. When the publisher is not
busy (a lone publish, a relay delivering one event at a time) every write goes out at
once, so the window never adds to a single publish's latency. ``drain``, ``close`` and
``write_eof`` hand over what is held first: nothing written is lost or reordered.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import aio_pika
import aiormq
from yarl import URL

__all__ = ["CoalescingConnection", "CoalescingTransportFactory", "CoalescingWriter"]

Busy = Callable[[], bool]
"""Whether writes should be held now: the publisher has many confirms outstanding."""


class CoalescingWriter(asyncio.StreamWriter):
    """A stream writer that, while ``busy()``, holds writes for up to ``window`` seconds and
    writes them in one piece."""

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        protocol: asyncio.StreamReaderProtocol,
        reader: asyncio.StreamReader,
        loop: asyncio.AbstractEventLoop,
        *,
        window: float,
        busy: Busy,
    ) -> None:
        super().__init__(transport, protocol, reader, loop)
        self._event_loop = loop
        self._window = window
        self._busy = busy
        self._held: list[bytes] = []
        self._timer: asyncio.TimerHandle | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` now, or, while the publisher is busy, with the writes of the
        next ``window`` seconds."""
        if self._timer is None:
            if not self._busy():
                self.transport.write(data)
                return
            self._timer = self._event_loop.call_later(self._window, self.flush)
        self._held.append(bytes(data))

    def flush(self) -> None:
        """Hand what is held to the transport now, in one write."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        if not self.transport.is_closing():
            self.transport.write(data)

    async def drain(self) -> None:
        """Hand over what is held, then wait as ``StreamWriter.drain`` does."""
        self.flush()
        await super().drain()

    def write_eof(self) -> None:
        """Hand over what is held, then close the write side."""
        self.flush()
        super().write_eof()

    def close(self) -> None:
        """Hand over what is held, then close."""
        self.flush()
        super().close()


class CoalescingTransportFactory(aiormq.TransportFactory):
    """aiormq's transport factory for a connection written through ``CoalescingWriter``:
    TCP, or TLS for an ``amqps://`` URL, as aiormq's own factories open them."""

    def __init__(self, *, window: float, busy: Busy) -> None:
        self._window = window
        self._busy = busy

    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Open the connection; ``kwargs`` are aiormq's (``ssl_context_provider``, ...)."""
        provider: aiormq.SSLContextProvider | None = kwargs.pop("ssl_context_provider", None)
        secure = url.scheme == "amqps"
        context: ssl.SSLContext | None = None
        if secure and provider is not None:
            context = await provider.get_context()
        host, port = url.host or "localhost", url.port or (5671 if secure else 5672)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(
                lambda: protocol, host, port, ssl=context, **kwargs
            )
        except OSError as error:
            raise aiormq.AMQPConnectionError(*error.args) from error
        writer = CoalescingWriter(
            transport, protocol, reader, loop, window=self._window, busy=self._busy
        )
        return reader, writer


class CoalescingConnection(aio_pika.Connection):
    """An aio-pika connection opened through ``factory`` (a ``CoalescingTransportFactory``)."""

    def __init__(self, url: URL, factory: CoalescingTransportFactory) -> None:
        super().__init__(url)
        self.kwargs["transport_factory"] = factory
