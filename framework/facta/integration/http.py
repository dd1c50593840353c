"""The HTTP publisher (``pip install facta[web]``): CloudEvents POSTed to a sink with httpx.

Three content modes of the CloudEvents HTTP binding: *structured* (one request per event,
the whole event as ``application/cloudevents+json``), *binary* (one request per event,
the attributes as ``ce-`` headers and the data as the body) and *batch* (one request for
all the events of a publish, as ``application/cloudevents-batch+json``).

What the sink answers decides what the outbox does: a 2xx is accepted; a 5xx, 408, 425,
429, a timeout or a broken connection is ``PublishFailed`` (retried with backoff, the
events keep their ids); any other answer is ``PublishRefused`` with the status and the
start of the answer (the delivery is dead-lettered at once, for an operator to read).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Literal, Self

try:
    import httpx
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("web", missing.name or "httpx") from missing

from facta.errors import ConfigurationError, PublishFailed, PublishRefused
from facta.integration.cloudevents import (
    BATCH_CONTENT_TYPE,
    STRUCTURED_CONTENT_TYPE,
    CloudEvent,
    to_batch,
    to_binary_http,
    to_structured,
)

__all__ = ["RETRYABLE_STATUSES", "HttpMode", "HttpPublisher"]

HttpMode = Literal["structured", "binary", "batch"]
"""How an ``HttpPublisher`` puts CloudEvents into requests."""

RETRYABLE_STATUSES = frozenset({408, 425, 429})
"""The 4xx answers that mean "not now" rather than "never": they are retried, like 5xx."""

_ANSWER_LIMIT = 500
_MODES = ("structured", "binary", "batch")


class HttpPublisher:
    """Publishes CloudEvents by POSTing them to ``url``; a ``Publisher`` and a
    ``BackgroundService``.

    ``mode`` chooses the content mode (``"structured"``, ``"binary"`` or ``"batch"``);
    ``timeout`` (seconds) applies to each request; ``headers`` are added to each request
    (an ``Authorization``, say). The publisher owns its ``httpx.AsyncClient`` and closes
    it in ``aclose()`` — ``ApplicationBuilder.publish_cloudevents`` starts and stops it
    with the application — unless you pass ``client``, which stays yours to close.

    In structured and binary mode the events of one publish are sent one request after
    the other; if one fails, the whole publish is retried and the events already accepted
    are sent again with the same ``id``, so the sink should de-duplicate on ``source`` and
    ``id`` (facta's ingestion endpoint does).
    """

    def __init__(
        self,
        url: str,
        *,
        mode: HttpMode = "structured",
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if mode not in _MODES:
            raise ConfigurationError(
                f"unknown HTTP content mode {mode!r}: use one of {', '.join(_MODES)}"
            )
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise ConfigurationError(f"{url!r} is not a valid URL: {error}") from error
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ConfigurationError(
                f"{url!r} is not an http(s) URL: an HttpPublisher needs the sink's full "
                f"address, like 'https://sink.example/events'"
            )
        if timeout <= 0:
            raise ConfigurationError("the timeout of an HttpPublisher must be positive")
        self.url = url
        self.mode: HttpMode = mode
        self._timeout = timeout
        self._headers = {name.lower(): value for name, value in (headers or {}).items()}
        self._client = client
        self._owns_client = client is None

    async def publish(self, events: Sequence[CloudEvent]) -> None:
        """POST ``events`` in the publisher's mode; return once the sink accepted all.

        Raises ``PublishFailed`` when a retry may succeed and ``PublishRefused`` when the
        sink's answer says it never will.
        """
        if not events:
            return
        if self.mode == "batch":
            await self._post({"content-type": BATCH_CONTENT_TYPE}, to_batch(events), events)
            return
        for event in events:
            if self.mode == "binary":
                headers, body = to_binary_http(event)
            else:
                headers, body = {"content-type": STRUCTURED_CONTENT_TYPE}, to_structured(event)
            await self._post(headers, body, (event,))

    async def start(self) -> None:
        """Open the HTTP client (connections are made on the first publish)."""
        self._http()

    async def stop(self) -> None:
        """Close the HTTP client if the publisher owns it."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if the publisher owns it; a later publish opens a new one."""
        client, self._client = self._client, (None if self._owns_client else self._client)
        if self._owns_client and client is not None:
            await client.aclose()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"HttpPublisher({self.url!r}, mode={self.mode!r})"

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    async def _post(
        self, headers: Mapping[str, str], body: bytes, events: Sequence[CloudEvent]
    ) -> None:
        what = f"POST {self.url} ({_describe(events)})"
        client = self._http()
        request = client.build_request(
            "POST",
            self.url,
            content=body,
            headers={**self._headers, **headers},
            timeout=self._timeout,
        )
        try:
            response = await client.send(request, stream=True)
            try:
                if response.is_success:
                    await response.aread()
                    return
                answer = await _answer_start(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as error:
            raise PublishFailed(
                f"{what} timed out after {self._timeout:g} s ({type(error).__name__})"
            ) from error
        except httpx.TransportError as error:
            raise PublishFailed(f"{what} failed: {type(error).__name__}: {error}") from error
        raise _refusal(what, response, answer)


def _refusal(what: str, response: httpx.Response, answer: str) -> PublishFailed | PublishRefused:
    """The error for a sink's non-2xx answer: retried when it means "not now"."""
    status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    if response.status_code >= 500 or response.status_code in RETRYABLE_STATUSES:
        retry_after = response.headers.get("retry-after")
        hint = f" (Retry-After: {retry_after})" if retry_after else ""
        return PublishFailed(f"{what} answered {status}{hint}: {answer}")
    if response.is_redirect:
        location = response.headers.get("location", "?")
        return PublishRefused(
            f"{what} was redirected with {status} to {location}; set the publisher's url "
            f"to where the sink is"
        )
    return PublishRefused(f"{what} was refused with {status}: {answer}")


def _describe(events: Sequence[CloudEvent]) -> str:
    if len(events) == 1:
        event = events[0]
        return f"{event.get_type()} {event.get_id()}"
    return f"a batch of {len(events)} events"


async def _answer_start(response: httpx.Response) -> str:
    """The start of an answer's body as one line of text; a huge answer is not read."""
    data = bytearray()
    async for chunk in response.aiter_bytes():
        data += chunk
        if len(data) >= _ANSWER_LIMIT * 4:
            break
    try:
        text = data.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = data.decode("utf-8", errors="replace")
    text = " ".join(text.split()) or "(no body)"
    return text if len(text) <= _ANSWER_LIMIT else text[: _ANSWER_LIMIT - 3] + "..."
