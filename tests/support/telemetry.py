"""An OpenTelemetry SDK of the test's own: spans and metrics recorded in memory.

``Recorder`` holds a tracer provider with an in-memory span exporter and a meter provider
with an in-memory reader; ``recorder.instrumentation(name)`` is an ``OpenTelemetry`` on
them, so nothing is set globally and two services of one test keep apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from facta.hosting.telemetry import OpenTelemetry


class Recorder:
    """One service's spans and metrics, in memory."""

    def __init__(self, service: str = "test") -> None:
        resource = Resource.create({"service.name": service})
        self.spans_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans_exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=resource, metric_readers=[self.reader])

    def instrumentation(self, name: str = "test", **options: Any) -> OpenTelemetry:
        """An ``OpenTelemetry`` recording here (one per application)."""
        return OpenTelemetry(
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            name=name,
            **options,
        )

    @property
    def spans(self) -> tuple[ReadableSpan, ...]:
        """The finished spans, in the order they ended."""
        return tuple(self.spans_exporter.get_finished_spans())

    def span(self, name: str) -> ReadableSpan:
        """The one finished span called ``name``."""
        found = [span for span in self.spans if span.name == name]
        assert len(found) == 1, f"{len(found)} spans named {name!r}: {self.names()}"
        return found[0]

    def names(self) -> list[str]:
        """The names of the finished spans."""
        return [span.name for span in self.spans]

    def points(self, metric: str) -> list[Any]:
        """The data points of ``metric`` in a fresh collection."""
        return list(self._points(metric))

    def value(self, metric: str, **attributes: object) -> float:
        """The value (a histogram's count) of the point of ``metric`` with ``attributes``."""
        wanted = {key.replace("__", "."): value for key, value in attributes.items()}
        matches = [
            point
            for point in self._points(metric)
            if all(point.attributes.get(key) == value for key, value in wanted.items())
        ]
        assert matches, f"no point of {metric} with {wanted}: {self.points(metric)}"
        return sum(
            point.count if isinstance(point, HistogramDataPoint) else point.value
            for point in matches
        )

    def _points(self, metric: str) -> Iterator[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return
        for resource_metrics in data.resource_metrics:
            for scope in resource_metrics.scope_metrics:
                for found in scope.metrics:
                    if found.name == metric:
                        yield from found.data.data_points


def parent_of(span: ReadableSpan) -> int | None:
    """The span id of ``span``'s parent, or None for a root."""
    return None if span.parent is None else span.parent.span_id


def span_id(span: ReadableSpan) -> int:
    """The span id of ``span``."""
    assert span.context is not None
    return span.context.span_id


def trace_id(span: ReadableSpan) -> int:
    """The trace id of ``span``."""
    assert span.context is not None
    return span.context.trace_id
