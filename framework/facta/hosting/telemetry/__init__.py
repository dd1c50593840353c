"""OpenTelemetry for facta applications (``pip install facta[otel]``).

``OpenTelemetry()`` is an ``Instrumentation``: give it to the builder and the application
records a span for each command, query, event dispatch, handler run, commit, relay
delivery and CloudEvent published or received, and the metrics listed in
``facta.hosting.telemetry.metrics``, through the OpenTelemetry API. Without an SDK
configured it costs next to nothing; configure one (or run under
``opentelemetry-instrument``) to export them::

    from facta.hosting.telemetry import OpenTelemetry

    app = ApplicationBuilder().scan("orders").instrument(OpenTelemetry(name="orders")).build()
"""

try:
    import opentelemetry.metrics
    import opentelemetry.trace  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("otel", missing.name or "opentelemetry-api") from missing

from facta.hosting.telemetry.behavior import TelemetryBehavior
from facta.hosting.telemetry.context import parent_of, span_context_of, traceparent_of
from facta.hosting.telemetry.instrumentation import OpenTelemetry
from facta.hosting.telemetry.metrics import (
    Instruments,
    OutboxMonitor,
    OutboxReading,
    outcome_of,
)
from facta.hosting.telemetry.waterfall import render_waterfall

__all__ = [
    "Instruments",
    "OpenTelemetry",
    "OutboxMonitor",
    "OutboxReading",
    "TelemetryBehavior",
    "outcome_of",
    "parent_of",
    "render_waterfall",
    "span_context_of",
    "traceparent_of",
]
