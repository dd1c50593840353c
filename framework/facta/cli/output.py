"""What commands print: aligned plain-text tables, UTC ISO-8601 times, JSON for scripts."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Column", "echo", "iso_time", "note", "print_json", "table", "terminal_width"]

_GAP = "  "
_MIN_FLEXIBLE = 20


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its heading, whether it is right-aligned (numbers), and whether it
    is the one cut to fit the terminal (free text, such as an error)."""

    heading: str
    right: bool = False
    flexible: bool = False


def table(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> str:
    """``rows`` under ``columns``, aligned, with the flexible column cut to fit ``width``.

    Only the flexible column is shortened (never below a readable minimum), so ids and
    names stay whole and can be copied into the next command.
    """
    widths = [
        max([len(column.heading), *(len(row[index]) for row in rows)])
        for index, column in enumerate(columns)
    ]
    for index, column in enumerate(columns):
        if column.flexible:
            others = sum(w for i, w in enumerate(widths) if i != index)
            room = width - others - len(_GAP) * (len(columns) - 1)
            widths[index] = min(widths[index], max(room, _MIN_FLEXIBLE, len(column.heading)))
    lines = []
    for row in [[column.heading for column in columns], *rows]:
        cells = []
        for column, cell, cell_width in zip(columns, row, widths, strict=True):
            if len(cell) > cell_width:
                cell = cell[: cell_width - 3].rstrip() + "..."
            cells.append(cell.rjust(cell_width) if column.right else cell.ljust(cell_width))
        lines.append(_GAP.join(cells).rstrip())
    return "\n".join(lines)


def iso_time(moment: datetime | None, *, precise: bool = False) -> str:
    """``moment`` in UTC as ISO-8601 with a ``Z`` (to the second, or to the microsecond)."""
    if moment is None:
        return ""
    text = moment.astimezone(UTC).isoformat(timespec="microseconds" if precise else "seconds")
    return text.removesuffix("+00:00") + "Z"


def terminal_width() -> int:
    """The width to fit tables to: the terminal's (``COLUMNS`` wins), else 100."""
    return shutil.get_terminal_size((100, 24)).columns


def echo(text: str) -> None:
    """Print a result on stdout."""
    print(text, file=sys.stdout)


def note(text: str) -> None:
    """Print a remark about the results on stderr, so that stdout stays parseable."""
    print(text, file=sys.stderr)


def print_json(value: object) -> None:
    """Print ``value`` as indented JSON on stdout."""
    print(json.dumps(value, indent=2), file=sys.stdout)
