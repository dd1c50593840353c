"""The delivery service's traces and metrics, exported by OTLP when asked for.

``DELIVERY_OTLP_ENDPOINT=http://collector:4318`` instruments the service with facta's
OpenTelemetry instrumentation (``pip install mario-delivery[otel]``) and exports its
spans and metrics there; each CloudEvent it receives continues the pizzeria's trace.
Without it nothing is set up.
"""

from __future__ import annotations

from collections.abc import Callable

from delivery.settings import DeliveryServiceSettings
from facta.application import Instrumentation

__all__ = ["delivery_telemetry"]


def delivery_telemetry(
    settings: DeliveryServiceSettings,
) -> tuple[Instrumentation, Callable[[], None]] | None:
    """The instrumentation and a function that flushes and stops the exporters, or None."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from facta.hosting.telemetry import OpenTelemetry

    endpoint = settings.otlp_endpoint.rstrip("/")
    resource = Resource.create({"service.name": settings.service_name})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
    )
    meter_provider = MeterProvider(
        resource=resource,
        metric_readers=[
            PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
        ],
    )

    def shutdown() -> None:
        tracer_provider.shutdown()
        meter_provider.shutdown()

    instrumentation = OpenTelemetry(
        tracer_provider=tracer_provider, meter_provider=meter_provider, name=settings.service_name
    )
    return instrumentation, shutdown
