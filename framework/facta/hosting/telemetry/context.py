"""W3C trace context between facta's ``traceparent`` strings and OpenTelemetry's contexts.

facta stores a ``traceparent`` on each committed event and carries it in CloudEvents (the
CloudEvents distributed-tracing extension); OpenTelemetry works with span contexts. These
two functions translate, without a propagator: the W3C format is the one facta uses.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, TraceFlags

__all__ = ["parent_of", "span_context_of", "traceparent_of"]


def traceparent_of(span: Span) -> str | None:
    """The W3C ``traceparent`` of ``span``, or None for a span that records nothing."""
    context = span.get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def span_context_of(traceparent: object) -> SpanContext | None:
    """The remote span context a ``traceparent`` names, or None if it is not a valid one."""
    if not isinstance(traceparent, str) or len(traceparent) != 55:
        return None
    version, trace_id, span_id, flags = [*traceparent.split("-"), "", "", ""][:4]
    try:
        if version == "ff" or len(trace_id) != 32 or len(span_id) != 16 or len(flags) != 2:
            return None
        context = SpanContext(
            trace_id=int(trace_id, 16),
            span_id=int(span_id, 16),
            is_remote=True,
            trace_flags=TraceFlags(int(flags, 16) & 0x01),
        )
    except ValueError:
        return None
    return context if context.is_valid else None


def parent_of(traceparent: object) -> Context | None:
    """An OpenTelemetry context whose current span is the one ``traceparent`` names."""
    context = span_context_of(traceparent)
    return None if context is None else trace.set_span_in_context(NonRecordingSpan(context))
