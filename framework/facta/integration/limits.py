"""Limits on what the ingestion side reads: body size and JSON nesting depth.

Every way in (the HTTP endpoint, the AMQP consumer) reads untrusted bytes. Python's JSON
parser recurses once per nested array or object, so a body of 10,000 nested arrays makes
it raise ``RecursionError`` deep inside the server; and a large body costs memory before
anything can refuse it. ``IngestionLimits`` names both limits, with documented defaults,
and ``load_json`` parses only what fits them: the depth is measured on the raw text first,
at C speed, without parsing. Whatever goes over a limit is ``InvalidCloudEvent`` (a 4xx,
or a dead letter), never an internal error.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from facta.errors import InvalidCloudEvent

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_MAX_DEPTH",
    "IngestionLimits",
    "check_depth",
    "load_json",
]

DEFAULT_MAX_BODY_SIZE = 1024 * 1024
"""The largest body (an HTTP request, an AMQP message) read by default: 1 MiB."""

DEFAULT_MAX_DEPTH = 64
"""How deeply JSON may nest by default (arrays and objects, counted from the outermost)."""

_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_PAIRS = re.compile(rb"\[\]|\{\}")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


@dataclass(frozen=True, slots=True)
class IngestionLimits:
    """What one way in accepts: ``max_body_size`` bytes, JSON nested ``max_depth`` deep.

    The depth counts every array and object from the outermost one: a structured event
    ``{"data": {"items": [1]}}`` is 3 deep, and a batch adds one for its array. Both ways
    in take one (``cloudevents_router(app, limits=...)``, ``AmqpConsumer(..., limits=...)``).
    """

    max_body_size: int = DEFAULT_MAX_BODY_SIZE
    max_depth: int = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        if self.max_body_size < 1:
            raise ValueError("max_body_size must be at least 1 byte")
        if self.max_depth < 1:
            raise ValueError("max_depth must be at least 1")

    def check_size(self, body: bytes) -> None:
        """Refuse a body larger than ``max_body_size`` with ``InvalidCloudEvent``."""
        if len(body) > self.max_body_size:
            raise InvalidCloudEvent(
                f"the body is {len(body)} bytes, more than the limit of {self.max_body_size}"
            )


def check_depth(text: bytes | str, max_depth: int, what: str = "the body") -> None:
    """Refuse JSON ``text`` that nests deeper than ``max_depth`` (or has unbalanced brackets).

    Strings are blanked out first, then matched pairs of brackets are removed innermost
    first, one level per pass: each pass is a regular expression over the brackets alone,
    so even a megabyte of brackets costs a few milliseconds and no recursion.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if not any(bracket in raw for bracket in (b"[", b"{")):
        return
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    for _ in range(max_depth):
        if not brackets:
            return
        reduced = _PAIRS.sub(b"", brackets)
        if reduced == brackets:
            raise InvalidCloudEvent(f"{what} is not JSON: its brackets do not match")
        brackets = reduced
    if brackets:
        raise InvalidCloudEvent(f"{what} nests JSON deeper than the limit of {max_depth} levels")


def load_json(text: bytes | str, max_depth: int, what: str = "the body") -> object:
    """Parse JSON ``text`` within ``max_depth``; ``InvalidCloudEvent`` says why it is not."""
    check_depth(text, max_depth, what)
    try:
        return json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise InvalidCloudEvent(f"{what} is not JSON ({_short(error)})") from error


def _short(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."
