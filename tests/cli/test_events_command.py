"""``facta events show``: an aggregate's history and its state, now or at a time."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.events_app import DATABASE_URL, create_app
from facta.cli.main import main
from support.ledger import write_old_event
from support.services import run_sync

APP = "cli.events_app:create_app"


def at(hour: int) -> datetime:
    return datetime(2026, 1, 1, hour, tzinfo=UTC)


async def _seed() -> None:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from facta.persistence.sqlalchemy import create_schema

    app = create_app().build()
    engine = app.get(AsyncEngine)
    try:
        await create_schema(engine)
        history = [
            (1, "LedgerOpened", {"owner": "ann"}, at(10)),
            (2, "EntryPosted", {"amount": 10, "memo": "rent"}, at(11)),
            (3, "EntryPosted", {"amount": 5, "memo": "tip"}, at(12)),
        ]
        for version, event_type, payload, recorded_at in history:
            event_version = 3 if event_type == "EntryPosted" else 1
            await write_old_event(
                app,
                "sqlite",
                "Ledger",
                "l-1",
                version,
                event_type,
                event_version,
                payload,
                recorded_at,
            )
    finally:
        await engine.dispose()


@pytest.fixture
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ledger l-1: opened at 10:00, 10 posted at 11:00 and 5 at 12:00 (UTC, 2026-01-01)."""
    monkeypatch.setenv(DATABASE_URL, f"sqlite:///{tmp_path / 'events.db'}")
    run_sync(_seed())


def show(*argv: str) -> int:
    return main(["events", "show", *argv, "--app", APP])


def test_show_lists_the_events_in_order_and_the_state_they_add_up_to(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show("Ledger", "l-1") == 0

    out = capsys.readouterr().out
    title, _, header, *rows = out.split("\n\nstate:\n")[0].splitlines()
    assert title == "Ledger 'l-1' at version 3"
    assert header.split() == ["VERSION", "RECORDED", "TYPE", "DATA"]
    assert [row.split()[:3] for row in rows] == [
        ["1", "2026-01-01T10:00:00Z", "LedgerOpened"],
        ["2", "2026-01-01T11:00:00Z", "EntryPosted"],
        ["3", "2026-01-01T12:00:00Z", "EntryPosted"],
    ]
    assert rows[1].endswith('{"amount": 10, "memo": "rent"}')
    state = json.loads(out.split("\n\nstate:\n")[1])
    assert (state["owner"], state["balance"], state["entries"]) == ("ann", 15, 2)


@pytest.mark.parametrize(
    ("moment", "balance", "version"),
    [
        pytest.param("2026-01-01T11:30:00Z", 10, 2, id="with-Z"),
        pytest.param("2026-01-01T12:30:00+01:00", 10, 2, id="with-an-offset"),
        pytest.param("2026-01-01T10:00:00", 0, 1, id="no-offset-is-utc"),
    ],
)
def test_show_at_a_time_travels_back_to_the_state_then(
    ledger: None, capsys: pytest.CaptureFixture[str], moment: str, balance: int, version: int
) -> None:
    assert show("Ledger", "l-1", "--at", moment, "--json") == 0

    shown = json.loads(capsys.readouterr().out)
    assert (shown["state"]["balance"], shown["version"]) == (balance, version)
    assert [e["version"] for e in shown["events"]] == list(range(1, version + 1))


def test_show_up_to_a_version(ledger: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert show("Ledger", "l-1", "--version", "2") == 0

    out = capsys.readouterr().out
    assert out.splitlines()[0] == "Ledger 'l-1' at version 2 (up to version 2)"
    assert '"balance": 10' in out


def test_show_as_json_gives_each_event_with_its_data(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show("Ledger", "l-1", "--json") == 0

    shown = json.loads(capsys.readouterr().out)
    assert shown["events"][2]["data"] == {"amount": 5, "memo": "tip"}
    assert shown["events"][2]["recorded_at"] == "2026-01-01T12:00:00.000000Z"
    assert shown["state"]["balance"] == 15


def test_show_before_the_first_event_says_there_is_none_and_fails(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show("Ledger", "l-1", "--at", "2025-12-31T00:00:00Z") == 1

    assert capsys.readouterr().err.strip() == (
        "Ledger 'l-1' has no events (as of 2025-12-31T00:00:00Z)"
    )


def test_show_of_an_unknown_aggregate_type_names_the_known_ones(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show("Order", "o-1") == 2

    assert "'Order' is not an event-sourced aggregate of this application (it knows Ledger, " in (
        capsys.readouterr().err
    )


def test_show_with_a_time_that_is_not_iso_8601_is_a_usage_error(
    ledger: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert show("Ledger", "l-1", "--at", "yesterday") == 2

    assert "'yesterday' is not a time: use ISO 8601" in capsys.readouterr().err
