"""One connection and one channel to RabbitMQ, opened again whenever the broker drops them.

facta keeps its own reconnect loop rather than aio-pika's robust connection, so that the
state is plain: either the link is open (``channel`` is set, declarations done) or it is
not (``channel`` is None, and publishing fails at once instead of waiting). After a loss
the loop connects again with exponential backoff and runs ``on_open`` on the new channel,
which re-declares the topology and, for a consumer, starts consuming again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aio_pika
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractConnection
from yarl import URL

from facta.errors import ConfigurationError
from facta.integration.amqp.transport import CoalescingConnection, CoalescingTransportFactory

__all__ = ["Link", "safe_url"]

_log = logging.getLogger("facta.amqp")

# refusals that mean the set-up is wrong, not that the broker is away
_MISCONFIGURED = (
    aiormq.exceptions.AuthenticationError,
    aiormq.exceptions.ConnectionNotAllowed,
    aiormq.exceptions.ChannelAccessRefused,
    aiormq.exceptions.ChannelPreconditionFailed,
)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


class Link:
    """Keeps one confirming channel open to ``url`` until stopped.

    ``on_open`` runs on each new channel before it is handed out; if it raises, the
    connection is closed and tried again later. The first attempt is made by ``start()``:
    a broker that is away only delays the link, but a refusal that retrying cannot fix
    (bad credentials, a queue declared with other arguments) raises ``ConfigurationError``.
    A publisher's link opens its connections through ``transport`` (see ``transport.py``).
    """

    def __init__(
        self,
        url: str,
        *,
        name: str,
        on_open: Callable[[AbstractChannel], Awaitable[None]],
        reconnect_delay: float,
        max_reconnect_delay: float,
        connect_timeout: float,
        transport: CoalescingTransportFactory | None = None,
    ) -> None:
        self._url = url
        self._transport = transport
        self._name = name
        self._on_open = on_open
        self._reconnect_delay = reconnect_delay
        self._max_reconnect_delay = max_reconnect_delay
        self._connect_timeout = connect_timeout
        self._channel: AbstractChannel | None = None
        self._open = asyncio.Event()
        self._stopping = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._fatal: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def channel(self) -> AbstractChannel | None:
        """The open channel, or None while (re)connecting."""
        return self._channel

    @property
    def started(self) -> bool:
        """Whether ``start()`` was called (and ``stop()`` not since)."""
        return self._task is not None

    @property
    def url(self) -> str:
        """The broker's URL without its password."""
        return safe_url(self._url)

    async def wait_open(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the link to be open; whether it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._open.wait(), timeout)
        return self._open.is_set()

    async def start(self) -> None:
        """Make the first connection attempt, then keep the link open in the background."""
        if self._task is not None:
            return
        self._stopping.clear()
        self._first_attempt.clear()
        self._fatal = None
        self._task = asyncio.create_task(self._run(), name=f"facta-amqp-{self._name}")
        await self._first_attempt.wait()
        if self._fatal is not None:
            await self.stop()
            raise ConfigurationError(
                f"RabbitMQ at {self.url} refused the {self._name}: {self._fatal}"
            ) from self._fatal

    async def stop(self) -> None:
        """Close the channel and the connection, and stop reconnecting."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        if not self._open.is_set():
            task.cancel()  # connecting or waiting to: nothing to finish
        await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._session()
            except Exception as error:
                failures += 1
                if not self._first_attempt.is_set() and _misconfigured(error):
                    self._fatal = error
                    self._stopping.set()
                else:
                    _log.warning(
                        "%s: cannot connect to RabbitMQ at %s (attempt %d): %s: %s",
                        self._name,
                        self.url,
                        failures,
                        type(error).__name__,
                        error,
                    )
            else:
                failures = 0
            finally:
                self._first_attempt.set()
            if failures and not self._stopping.is_set():
                delay = min(self._reconnect_delay * 2 ** (failures - 1), self._max_reconnect_delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _session(self) -> None:
        """One connection: open it, hand out its channel until it is lost or stopped."""
        lost = asyncio.Event()

        def on_close(*_: object) -> None:
            lost.set()

        connection: AbstractConnection | None = None
        try:
            if self._transport is None:
                connection = await aio_pika.connect(self._url, timeout=self._connect_timeout)
            else:
                connection = CoalescingConnection(URL(self._url), self._transport)
                await connection.connect(timeout=self._connect_timeout)
            connection.close_callbacks.add(on_close)
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            channel.close_callbacks.add(on_close)
            await self._on_open(channel)
            self._channel = channel
            self._open.set()
            self._first_attempt.set()
            _log.info("%s: connected to RabbitMQ at %s", self._name, self.url)
            await _first_of(lost.wait(), self._stopping.wait())
            if not self._stopping.is_set():
                _log.warning("%s: lost RabbitMQ at %s; reconnecting", self._name, self.url)
        finally:
            self._open.clear()
            self._channel = None
            if connection is not None:
                await _close(connection)


def _misconfigured(error: Exception) -> bool:
    if isinstance(error, aiormq.exceptions.ProbableAuthenticationError):
        return "ACCESS_REFUSED" in str(error)  # otherwise: dropped while the broker starts
    return isinstance(error, _MISCONFIGURED)


async def _first_of(*waits: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _close(connection: AbstractConnection) -> None:
    try:
        await asyncio.wait_for(connection.close(), 5)
    except Exception as error:  # closing a dead connection may fail in many ways
        _log.debug("closing the RabbitMQ connection failed: %s", error)
