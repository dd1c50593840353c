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
from itertools import accumulate

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

_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_AS_PARENTHESES = bytes.maketrans(b"[]{}", b"()()")
_RUNS = re.compile(rb"\(+|\)+")
_OPEN = ord("(")


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

    Strings are blanked out first; the depth is then read from the brackets alone, at C
    speed for the most part, so a megabyte of brackets costs milliseconds, not recursion.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    if b"[" not in raw and b"{" not in raw:
        return
    if b'"' in raw:  # drop escapes, then what lies between quotes: strings hold no brackets
        unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
        raw = b"".join(unescaped.split(b'"')[::2])
    # only the nesting counts here: [ and { open, ] and } close (the parser checks the rest)
    brackets = raw.translate(_AS_PARENTHESES, _NOT_BRACKETS)
    if len(brackets) <= 2 * max_depth and brackets.count(b"(") == brackets.count(b")"):
        return  # too short to nest deeper; the parser finds what else may be wrong
    # innermost pairs go a level per pass (``replace`` does not rescan what it made) while
    # that shrinks the text by a 32nd at least; the depth of what is left is the highest
    # running sum of its runs of ( and of )
    depth = 0
    while depth <= max_depth:
        reduced = brackets.replace(b"()", b"")
        removed = len(brackets) - len(reduced)
        if not removed:
            break
        depth += 1
        worth_another, brackets = removed * 32 >= len(brackets), reduced
        if not worth_another:
            break
    runs = _RUNS.findall(brackets)
    levels = list(accumulate(len(run) if run[0] == _OPEN else -len(run) for run in runs))
    if depth == 0 or (levels and (min(levels) < 0 or levels[-1] != 0)):
        raise InvalidCloudEvent(f"{what} is not JSON: its brackets do not match")
    if depth + max(levels, default=0) > max_depth:
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
