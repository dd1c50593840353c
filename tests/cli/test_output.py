"""How the ``facta`` command draws: progress on stderr, tables and times on stdout."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest

from facta.cli.output import Column, iso_time, table
from facta.cli.progress import Progress


class TerminalOutput(io.StringIO):
    """A stderr that is a terminal (UTF-8 or not)."""

    def __init__(self, encoding: str = "utf-8") -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:
        return self._encoding

    def isatty(self) -> bool:
        return True


def test_progress_prints_a_plain_line_per_step_when_not_on_a_terminal() -> None:
    stream = io.StringIO()

    with Progress("relaying", 5, stream=stream) as bar:
        bar.advance(2)
        bar.advance(3)

    assert stream.getvalue() == "relaying: 2/5 events\nrelaying: 5/5 events\n"


def test_progress_redraws_one_line_on_a_terminal_and_ends_it_when_done(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    stream = TerminalOutput()

    with Progress("pruning", 4, stream=stream) as bar:
        bar.advance(1)

    frames = stream.getvalue().split("\r\x1b[K")[1:]
    assert [frame.split("|")[-1].split()[0] for frame in frames] == ["0/4", "1/4", "1/1"]
    assert all(len(frame.rstrip("\n")) <= 59 for frame in frames)
    assert frames[1].count("█") == round(frames[1].count("█") + frames[1].count("░")) // 4
    assert "░" not in frames[-1] and frames[-1].endswith("\n")


def test_progress_grows_its_total_when_more_is_done_than_expected() -> None:
    bar = Progress("relaying", 1, stream=io.StringIO())
    bar.advance(3)

    assert (bar.done, bar.total) == (3, 3)


@pytest.mark.parametrize(
    ("encoding", "full", "empty"),
    [pytest.param("utf-8", "█", "░", id="utf-8"), pytest.param("ascii", "#", "-", id="ascii")],
)
def test_the_bar_uses_blocks_only_where_the_terminal_can_show_them(
    encoding: str, full: str, empty: str
) -> None:
    bar = Progress("x", 2, stream=TerminalOutput(encoding))
    bar.advance(1)

    line = bar.render(40)
    assert full in line and empty in line and len(line) <= 40


def test_a_table_aligns_its_columns_and_right_aligns_numbers() -> None:
    columns = [Column("NAME"), Column("COUNT", right=True), Column("NOTE", flexible=True)]

    text = table(columns, [("ann", "7", "ok"), ("bartholomew", "1234", "")], width=80)

    assert text.splitlines() == [
        "NAME         COUNT  NOTE",
        "ann              7  ok",
        "bartholomew   1234",
    ]


@pytest.mark.parametrize(
    ("width", "note"),
    [
        pytest.param(40, "a long error mess...", id="never-below-20"),
        pytest.param(50, "a long error message...", id="cut-to-fit"),
        pytest.param(80, "a long error message that keeps going", id="room-enough"),
    ],
)
def test_only_the_flexible_column_is_cut_to_the_width(width: int, note: str) -> None:
    columns = [Column("ID"), Column("ERROR", flexible=True)]
    row = ("0123456789abcdefghijklmn", "a long error message that keeps going")

    text = table(columns, [row], width=width)

    assert text.splitlines()[1] == f"{row[0]}  {note}"


@pytest.mark.parametrize(
    ("moment", "precise", "text"),
    [
        pytest.param(
            datetime(2025, 3, 1, 12, 30, 5, 123456, tzinfo=UTC), False, "2025-03-01T12:30:05Z"
        ),
        pytest.param(
            datetime(2025, 3, 1, 14, 30, 5, 123456, tzinfo=timezone(timedelta(hours=2))),
            True,
            "2025-03-01T12:30:05.123456Z",
        ),
        pytest.param(None, False, ""),
    ],
)
def test_times_are_shown_in_utc_iso_8601(moment: datetime | None, precise: bool, text: str) -> None:
    assert iso_time(moment, precise=precise) == text
