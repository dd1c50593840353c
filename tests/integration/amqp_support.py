"""The test RabbitMQ (127.0.0.1:5672, or FACTA_TEST_AMQP_URL): found, or skipped naming it.

``Broker`` is an admin connection for one test: it makes unique exchange and queue names,
observes what is published, publishes raw messages, and deletes everything it named
when the test ends. ``stop_rabbitmq``/``start_rabbitmq`` restart the broker's app.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage
from yarl import URL

from facta.integration.cloudevents import CloudEvent
from support.services import unavailable

AMQP_URL = os.environ.get("FACTA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
RABBITMQ = f"RabbitMQ at {URL(AMQP_URL).host}:{URL(AMQP_URL).port}"
SCHEMA = Path(__file__).resolve().parents[3] / "shared" / "data" / "cloudevents-1.0.schema.json"


class Broker:
    """One test's view of RabbitMQ; everything it names is deleted afterwards."""

    url = AMQP_URL

    def __init__(self, connection: AbstractConnection) -> None:
        self._connection = connection
        self._names: list[str] = []

    @classmethod
    @asynccontextmanager
    async def open(cls) -> AsyncIterator[Broker]:
        """Connect (or skip the test naming RabbitMQ); clean up after the test."""
        await _RUNS.share()
        try:
            try:
                connection = await aio_pika.connect(AMQP_URL, timeout=5)
            except Exception as error:
                unavailable(RABBITMQ, error)
            broker = cls(connection)
            try:
                yield broker
            finally:
                await broker._delete_named()
                await broker._connection.close()
        finally:
            _RUNS.leave()

    @asynccontextmanager
    async def alone(self) -> AsyncIterator[None]:
        """Have the broker to this test alone, to restart it: tests of other test runs
        (other processes) finish first, and new ones wait until it is back."""
        await _RUNS.take_alone()
        try:
            yield
        finally:
            await _RUNS.share_again()

    def name(self, what: str) -> str:
        """A unique exchange or queue name, deleted (with its dead letters) after the test."""
        name = f"facta-test.{what}.{uuid.uuid4().hex[:10]}"
        self._names.append(name)
        return name

    @asynccontextmanager
    async def channel(self) -> AsyncIterator[AbstractChannel]:
        """A fresh channel: a refused operation closes its channel, not the connection."""
        if not self._connection.connected.is_set():  # dropped, by a broker restart say
            with contextlib.suppress(Exception):
                await self._connection.close()
            self._connection = await aio_pika.connect(AMQP_URL, timeout=5)
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        try:
            yield channel
        finally:
            if not channel.is_closed:
                await channel.close()

    async def observe(self, exchange: str, *keys: str, durable: bool = False) -> str:
        """A queue bound to ``exchange`` (declared as facta does) for ``keys`` (or all)."""
        queue_name = self.name("observer")
        async with self.channel() as channel:
            events = await channel.declare_exchange(
                exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(queue_name, durable=durable)
            for key in keys or ("#",):
                await queue.bind(events, routing_key=key)
        return queue_name

    async def collect(
        self, queue: str, count: int, timeout: float = 10.0
    ) -> list[AbstractIncomingMessage]:
        """Take messages from ``queue`` until there are ``count`` or ``timeout`` passed."""
        messages: list[AbstractIncomingMessage] = []
        deadline = time.monotonic() + timeout
        async with self.channel() as channel:
            source = await channel.get_queue(queue, ensure=False)
            while len(messages) < count and time.monotonic() < deadline:
                message = await source.get(no_ack=True, fail=False)
                if message is None:
                    await asyncio.sleep(0.05)
                else:
                    messages.append(message)
        return messages

    async def count(self, queue: str) -> int:
        """How many messages wait in ``queue`` (not counting unacknowledged ones)."""
        async with self.channel() as channel:
            declared = await channel.declare_queue(queue, passive=True)
            return declared.declaration_result.message_count or 0

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        headers: dict[str, Any] | None = None,
        message_id: str | None = None,
    ) -> None:
        """Publish one raw message, confirmed."""
        async with self.channel() as channel:
            target = await channel.get_exchange(exchange, ensure=False)
            await target.publish(
                aio_pika.Message(
                    body, content_type=content_type, headers=headers, message_id=message_id
                ),
                routing_key=routing_key,
            )

    async def _delete_named(self) -> None:
        for name in self._names:
            for queue in (name, f"{name}.dead"):
                async with self.channel() as channel:
                    await channel.queue_delete(queue)
            for exchange in (name, f"{name}.dlx"):
                async with self.channel() as channel:
                    await channel.exchange_delete(exchange)


class _TestRuns:
    """Keeps test runs in other processes off the broker while one of them restarts it.

    Each test that uses the broker holds a shared lock on a file; a restart takes it
    exclusively, after closing a gate that keeps new tests from starting meanwhile (so
    that a busy run cannot starve it). The locks are ``flock`` locks, released by the
    kernel if a process dies.
    """

    def __init__(self) -> None:
        self._run: IO[bytes] | None = None
        self._gate: IO[bytes] | None = None

    @property
    def alone(self) -> bool:
        """Whether this process holds the broker alone."""
        return self._gate is not None

    async def share(self) -> None:
        """Join the tests using the broker (waiting while a restart is under way)."""
        gate = await _lock("gate", fcntl.LOCK_SH)
        try:
            self._run = await _lock("run", fcntl.LOCK_SH)
        finally:
            gate.close()

    def leave(self) -> None:
        """Leave them."""
        if self._run is not None:
            self._run.close()
            self._run = None

    async def take_alone(self) -> None:
        """Close the gate, then wait until no other test uses the broker."""
        self.leave()  # holding on while waiting for the gate could deadlock two restarts
        self._gate = await _lock("gate", fcntl.LOCK_EX)
        self._run = await _lock("run", fcntl.LOCK_EX)

    async def share_again(self) -> None:
        """Share the broker again, and open the gate."""
        if self._run is not None:
            await _flock(self._run, fcntl.LOCK_SH)
        if self._gate is not None:
            self._gate.close()
            self._gate = None


async def _lock(name: str, mode: int) -> IO[bytes]:
    path = Path(tempfile.gettempdir()) / f"facta-tests-rabbitmq.{name}.lock"
    file = path.open("a+b")
    try:
        await _flock(file, mode)
    except BaseException:
        file.close()
        raise
    return file


async def _flock(file: IO[bytes], mode: int, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(file.fileno(), mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"another test run kept RabbitMQ for {timeout} s") from None
            await asyncio.sleep(0.05)


_RUNS = _TestRuns()


async def wait_until(condition: Any, timeout: float, message: str) -> None:
    """Poll ``condition`` (sync or async, truthy when done) until ``timeout``, else fail."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {message}")
        await asyncio.sleep(0.05)


async def _rabbitmqctl(*arguments: str) -> None:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        unavailable(f"{RABBITMQ} (rabbitmqctl, to restart it)", "rabbitmqctl is not installed")
    assert executable is not None
    process = await asyncio.create_subprocess_exec(
        executable,
        "-q",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    if process.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(arguments)} failed: {output.decode()}")


async def stop_rabbitmq() -> None:
    """Stop the RabbitMQ application (the node stays up); connections drop at once.

    Only within ``Broker.alone()``: other test runs must not see the broker go away.
    """
    assert _RUNS.alone, "stop RabbitMQ only within `async with broker.alone():`"
    await _rabbitmqctl("stop_app")


async def start_rabbitmq(timeout: float = 60.0) -> None:
    """Start the RabbitMQ application again and wait until it accepts connections."""
    await _rabbitmqctl("start_app")
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection = await aio_pika.connect(AMQP_URL, timeout=2)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
        else:
            await connection.close()
            return


def validate_against_schema(document: dict[str, Any]) -> None:
    """Check ``document`` against the CloudEvents 1.0 JSON schema; skip if it is absent."""
    if not SCHEMA.exists():
        pytest.skip(f"the CloudEvents JSON schema is absent ({SCHEMA}): schema check skipped")
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(
        schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    validator.validate(document)


def assert_structured_cloudevent(body: bytes) -> dict[str, Any]:
    """The body is one CloudEvent in the JSON format, by the rules the schema cannot check.

    Returns the parsed document.
    """
    document: dict[str, Any] = json.loads(body)
    assert document["specversion"] == "1.0"
    assert not ("data" in document and "data_base64" in document)
    standard = {"id", "source", "type", "specversion", "subject", "time", "dataschema"}
    for name in set(document) - standard - {"datacontenttype", "data", "data_base64"}:
        assert re.fullmatch(r"[a-z0-9]{1,20}", name), f"extension attribute name {name!r}"
    return document


def order_placed(
    event_id: str | None = None,
    *,
    event_type: str = "com.example.shop.order.placed.v2",
    data: object = None,
    customer: str = "ann",
    order_id: str = "o-1",
) -> CloudEvent:
    """A CloudEvent the loyalty side of ``support.shop`` accepts (v2 by default)."""
    if data is None:
        data = (
            {"order_id": order_id, "customer": customer, "total_cents": 1250}
            if event_type.endswith(".v1")
            else {"order_id": order_id, "customer": customer, "total": "12.50", "currency": "EUR"}
        )
    attributes = {
        "id": event_id or str(uuid.uuid4()),
        "source": "/shop/orders",
        "type": event_type,
        "specversion": "1.0",
        "datacontenttype": "application/json",
        "subject": order_id,
        "correlationid": "c0ffee",
    }
    return CloudEvent(attributes, data)  # type: ignore[arg-type]
