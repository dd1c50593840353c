"""Logs that carry the trace id and the correlation id of the work they come from.

``LogContext(app)`` is a ``logging.Filter`` that adds three fields to every record it
sees: ``trace_id`` and ``span_id`` (from the W3C trace context facta keeps for the current
task: the caller's ``traceparent``, or the current span's when the application is
instrumented with OpenTelemetry) and ``correlation_id`` (of the application's current
operation). Outside any of them the fields are empty strings, so a format can always use
them::

    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    LogContext(app).install(handler)
    logging.getLogger().addHandler(handler)
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from facta.application import OperationScope, current_traceparent

if TYPE_CHECKING:
    from facta.hosting.application import Application

__all__ = ["LOG_FORMAT", "LogContext"]

LOG_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "[trace=%(trace_id)s correlation=%(correlation_id)s] %(message)s"
)
"""A log format that shows the trace id and the correlation id of each record."""


class LogContext(logging.Filter):
    """Adds ``trace_id``, ``span_id`` and ``correlation_id`` to each record; drops none."""

    def __init__(self, *applications: Application) -> None:
        super().__init__()
        self._scopes = tuple(app.container.get(OperationScope) for app in applications)

    def filter(self, record: logging.LogRecord) -> bool:
        traceparent = current_traceparent()
        record.trace_id = traceparent[3:35] if traceparent else ""
        record.span_id = traceparent[36:52] if traceparent else ""
        correlation = ""
        for scope in self._scopes:
            context = scope.context
            if context is not None:
                correlation = str(context.correlation_id)
                break
        record.correlation_id = correlation
        return True

    def install(self, *handlers: logging.Handler) -> LogContext:
        """Add the filter to ``handlers`` (by default every handler of the root logger).

        A handler's filters see the records of every logger that reaches it, which a
        logger's own filters do not.
        """
        for handler in handlers or tuple(logging.getLogger().handlers):
            handler.addFilter(self)
        return self
