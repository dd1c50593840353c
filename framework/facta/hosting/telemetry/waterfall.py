"""A trace as text: the tree of exported spans, with a waterfall of their timings.

``render_waterfall(spans)`` takes finished spans (the SDK's ``ReadableSpan``, from an
``InMemorySpanExporter`` say), of one service or several, and draws each trace as a tree
by parent span: the service, the span's name and kind, a bar placed and sized by its start
and duration, and the duration. A span's links are drawn under it (``~> linked to``).
With ``timings=False`` only the tree is drawn, which stays the same from run to run::

    pizzeria  POST /orders                       SERVER    |■■■■■■■■■■■■■■■■■■■■| 9.1 ms
    pizzeria    send PlaceOrder                  INTERNAL  | ■■■■■■■■■■■■■■■■■■ | 8.2 ms
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["render_waterfall"]

_TREE_WIDTH = 78


def render_waterfall(spans: Iterable[Any], *, width: int = 30, timings: bool = True) -> str:
    """The spans' traces drawn as trees, with a waterfall of ``width`` columns."""
    spans = sorted(spans, key=lambda span: span.start_time)
    if not spans:
        return ""
    by_id = {span.context.span_id: span for span in spans}
    children: dict[int, list[Any]] = {}
    roots: list[Any] = []
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        if parent is not None and parent in by_id:
            children.setdefault(parent, []).append(span)
        else:
            roots.append(span)
    start = min(span.start_time for span in spans)
    end = max(span.end_time for span in spans)
    lines: list[str] = []
    for root in roots:
        _draw(root, 0, children, by_id, lines, (start, max(end - start, 1), width, timings))
    return "\n".join(lines) + "\n"


def _draw(
    span: Any,
    depth: int,
    children: dict[int, list[Any]],
    by_id: dict[int, Any],
    lines: list[str],
    frame: tuple[int, int, int, bool],
) -> None:
    start, total, width, timings = frame
    service = str(span.resource.attributes.get("service.name", ""))
    kind = span.kind.name
    tree = f"{service:<10}{'  ' * depth}{span.name}"
    line = f"{tree:<{_TREE_WIDTH}} {kind:<8}"
    if timings:
        first = (span.start_time - start) * width // total
        length = max(1, (span.end_time - span.start_time) * width // total)
        bar = " " * first + "■" * min(length, width - first) + " " * max(0, width - first - length)
        line += f" |{bar[:width]}| {(span.end_time - span.start_time) / 1e6:.1f} ms"
    lines.append(line.rstrip())
    for link in _links(span):
        target = by_id.get(link.context.span_id)
        name = target.name if target is not None else f"span {link.context.span_id:016x}"
        lines.append(f"{'':<10}{'  ' * (depth + 1)}~> linked to: {name}")
    for child in children.get(span.context.span_id, ()):
        _draw(child, depth + 1, children, by_id, lines, frame)


def _links(span: Any) -> Sequence[Any]:
    return tuple(span.links or ())
