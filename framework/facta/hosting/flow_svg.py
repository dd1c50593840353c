"""The message flow drawn as SVG: a picture that needs no network and no JavaScript.

``flow_svg(flow)`` lays the graph out in columns, left to right: the commands (and the
CloudEvents the application ingests), then the domain events they record, then the events
their handlers record in turn, then the CloudEvents they are published as. Commands are
boxes, domain events rounded, CloudEvents hexagons; an arrow from an event to another is
labelled with the handler that records the second one; a dashed arrow is a contract.
The result is one ``<svg>`` element: a file a browser opens, or a docs page includes.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from facta.hosting.describe import Flow

__all__ = ["flow_svg"]

_ROW = 54
_HEIGHT = 34
_GAP = 120
_MARGIN = 16
_CHAR = 7.4
_STYLE = {
    "cmd": ("#e8f0fe", "#3b6fd8"),
    "evt": ("#fff4e0", "#c77c02"),
    "ce": ("#e6f6ec", "#2e8b57"),
}


@dataclass
class _Node:
    key: str
    label: str
    shape: str
    rank: int = 0
    row: int = 0


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


def _graph(flow: Flow) -> tuple[dict[str, _Node], list[_Edge]]:
    nodes: dict[str, _Node] = {}
    edges: list[_Edge] = []

    def node(key: str, label: str, shape: str) -> str:
        nodes.setdefault(key, _Node(key, label, shape))
        return key

    for handler in (*flow.commands, *flow.integration_handlers):
        source = node(f"msg:{handler.handles}", handler.handles, "cmd")
        for event in handler.records:
            edges.append(_Edge(source, node(f"evt:{event}", event, "evt")))
    for event, handlers in flow.events.items():
        origin = node(f"evt:{event}", event, "evt")
        for handler in handlers:
            name = handler.name.rsplit(".", 1)[-1]
            for recorded in handler.records:
                edges.append(_Edge(origin, node(f"evt:{recorded}", recorded, "evt"), name))
    for event, cloudevent_type, _, _ in flow.contracts:
        origin = node(f"evt:{event}", event, "evt")
        target = node(f"ce:{cloudevent_type}", cloudevent_type, "ce")
        edges.append(_Edge(origin, target, dashed=True))
    return nodes, edges


def _layout(nodes: dict[str, _Node], edges: list[_Edge]) -> list[list[_Node]]:
    """Columns of nodes: a node sits right of what leads to it (cycles are cut)."""
    for item in nodes.values():
        item.rank = 0 if item.shape == "cmd" else 1
    for _ in range(len(nodes)):  # longest path; at most len(nodes) rounds, even with cycles
        moved = False
        for edge in edges:
            source, target = nodes[edge.source], nodes[edge.target]
            if target.shape != "cmd" and target.rank < source.rank + 1 <= len(nodes):
                target.rank, moved = source.rank + 1, True
        if not moved:
            break
    columns: list[list[_Node]] = [[] for _ in range(max(n.rank for n in nodes.values()) + 1)]
    for item in nodes.values():
        columns[item.rank].append(item)
    for column in columns[1:]:  # near what leads to it: fewer crossings
        for item in column:
            rows = [nodes[e.source].row for e in edges if e.target == item.key]
            item.row = round(sum(rows) / len(rows) * 1000) if rows else 10**9
        column.sort(key=lambda each: each.row)
        for row, item in enumerate(column):
            item.row = row
    for row, item in enumerate(columns[0]):
        item.row = row
    return [column for column in columns if column]


def flow_svg(flow: Flow) -> str:
    """``flow`` as a standalone SVG document (one ``<svg>`` element, no blank line)."""
    nodes, edges = _graph(flow)
    if not nodes:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="40" role="img">'
            '<text x="10" y="24" font-family="sans-serif" font-size="13">(no messages)</text>'
            "</svg>\n"
        )
    columns = _layout(nodes, edges)
    widths = [max(len(n.label) for n in column) * _CHAR + 28 for column in columns]
    lefts = [_MARGIN + sum(widths[:index]) + _GAP * index for index in range(len(columns))]
    box: dict[str, tuple[float, float, float]] = {}  # key: left, middle y, width
    for index, column in enumerate(columns):
        for item in column:
            box[item.key] = (lefts[index], _MARGIN + item.row * _ROW + _HEIGHT / 2, widths[index])
    width = lefts[-1] + widths[-1] + _MARGIN
    height = _MARGIN * 2 + max(len(column) for column in columns) * _ROW
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="facta-flow" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'font-family="sans-serif" font-size="12">',
        "<title>The message flow</title>",
        '<defs><marker id="facta-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0,0L10,5L0,10z" fill="#666"/></marker></defs>',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    for edge in edges:
        parts.append(_edge(edge, box))
    for item in nodes.values():
        parts.append(_node(item, *box[item.key]))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _edge(edge: _Edge, box: dict[str, tuple[float, float, float]]) -> str:
    (x1, y1, w1), (x2, y2, _) = box[edge.source], box[edge.target]
    start, end = x1 + w1, x2
    bend = max(40.0, abs(end - start) / 2)
    dash = ' stroke-dasharray="5,4"' if edge.dashed else ""
    path = (
        f'<path d="M{start:.0f},{y1:.0f} C{start + bend:.0f},{y1:.0f} {end - bend:.0f},{y2:.0f} '
        f'{end:.0f},{y2:.0f}" fill="none" stroke="#666" stroke-width="1.3"{dash} '
        f'marker-end="url(#facta-arrow)"/>'
    )
    if not edge.label:
        return path
    x, y = (start + end) / 2, (y1 + y2) / 2 - 4
    return path + (
        f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle" font-size="10" fill="#444" '
        f'stroke="#fff" stroke-width="3" paint-order="stroke">{escape(edge.label)}</text>'
    )


def _node(item: _Node, left: float, middle: float, width: float) -> str:
    fill, stroke = _STYLE[item.shape]
    top = middle - _HEIGHT / 2
    if item.shape == "ce":
        notch = 12
        points = (
            f"{left:.0f},{middle:.0f} {left + notch:.0f},{top:.0f} "
            f"{left + width - notch:.0f},{top:.0f} {left + width:.0f},{middle:.0f} "
            f"{left + width - notch:.0f},{top + _HEIGHT:.0f} {left + notch:.0f},{top + _HEIGHT:.0f}"
        )
        shape = f'<polygon points="{points}" fill="{fill}" stroke="{stroke}"/>'
    else:
        radius = _HEIGHT / 2 if item.shape == "evt" else 3
        shape = (
            f'<rect x="{left:.0f}" y="{top:.0f}" width="{width:.0f}" height="{_HEIGHT}" '
            f'rx="{radius:.0f}" fill="{fill}" stroke="{stroke}"/>'
        )
    label = (
        f'<text x="{left + width / 2:.0f}" y="{middle + 4:.0f}" text-anchor="middle" '
        f'fill="#222">{escape(item.label)}</text>'
    )
    return f'<g class="facta-{item.shape}">{shape}{label}</g>'
