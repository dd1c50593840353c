"""The pizzeria's OpenTelemetry set-up, chosen by environment variables.

| variable | effect |
|---|---|
| ``PIZZERIA_METRICS=prometheus`` | the web service serves its metrics on ``GET /metrics`` |
| ``PIZZERIA_OTLP_ENDPOINT=http://collector:4318`` | traces and metrics go to that collector |

With neither, no SDK is set up and facta's instrumentation costs next to nothing. The
spans carry ``service.name`` = ``PIZZERIA_SERVICE_NAME`` (``pizzeria``). The standard
``OTEL_EXPORTER_OTLP_*`` variables (headers, timeout) apply to the exporters as usual.
The providers are the pizzeria's own (not the process-global ones), shut down, and so
flushed, by ``PizzeriaTelemetry.shutdown``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pizzeria.settings import PizzeriaSettings

if TYPE_CHECKING:  # facta[otel] is needed only when telemetry is asked for
    from facta.hosting.telemetry import OpenTelemetry

__all__ = ["PizzeriaTelemetry", "pizzeria_telemetry"]


@dataclass
class PizzeriaTelemetry:
    """The pizzeria's instrumentation and what exports it."""

    instrumentation: OpenTelemetry
    shutdown_hooks: tuple[object, ...]
    prometheus_registry: object | None = None

    def metrics_text(self) -> tuple[bytes, str]:
        """The metrics in Prometheus' text format, and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        registry = self.prometheus_registry
        assert isinstance(registry, CollectorRegistry), "PIZZERIA_METRICS is not prometheus"
        return generate_latest(registry), CONTENT_TYPE_LATEST

    def shutdown(self) -> None:
        """Export what is buffered and stop the exporters."""
        for provider in self.shutdown_hooks:
            shutdown = getattr(provider, "shutdown", None)
            if shutdown is not None:
                shutdown()


def pizzeria_telemetry(settings: PizzeriaSettings) -> PizzeriaTelemetry | None:
    """The telemetry ``settings`` ask for, or None (``pip install pizzeria[otel]``)."""
    if settings.metrics != "prometheus" and not settings.otlp_endpoint:
        return None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from facta.hosting.telemetry import OpenTelemetry

    resource = Resource.create({"service.name": settings.service_name})
    tracer_provider = TracerProvider(resource=resource)
    readers: list[MetricReader] = []
    registry = None
    if settings.metrics == "prometheus":
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import CollectorRegistry

        registry = CollectorRegistry()
        readers.append(PrometheusMetricReader(registry=registry))
    if settings.otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        endpoint = settings.otlp_endpoint.rstrip("/")
        tracer_provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces"))
        )
        readers.append(
            PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics"))
        )
    meter_provider = MeterProvider(resource=resource, metric_readers=readers)
    instrumentation = OpenTelemetry(
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        name=settings.service_name,
        outbox_interval=5.0,
    )
    return PizzeriaTelemetry(instrumentation, (tracer_provider, meter_provider), registry)
