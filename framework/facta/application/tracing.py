"""The W3C trace context of the current task, carried onto the events it commits.

An edge (a web middleware, a message consumer, an OpenTelemetry hook) opens
``trace_context(traceparent)`` around its work; events committed inside it keep the
``traceparent``, and the CloudEvents published for them carry it on, so one trace spans
services. The value lives in a ``ContextVar``: each task sees its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["current_traceparent", "trace_context"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")
_current: ContextVar[str | None] = ContextVar("facta.traceparent", default=None)


def current_traceparent() -> str | None:
    """The traceparent of the trace active in this task, if any."""
    return _current.get()


@contextmanager
def trace_context(traceparent: str | None) -> Iterator[None]:
    """Make ``traceparent`` the active trace for the block; malformed values are ignored."""
    valid = traceparent if traceparent and _TRACEPARENT.match(traceparent) else None
    token = _current.set(valid)
    try:
        yield
    finally:
        _current.reset(token)
