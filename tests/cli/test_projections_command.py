"""``facta projections``: list, status with lag, and rebuild, as an operator runs them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from cli.projections_app import DATABASE_URL, create_app
from facta import Application, UnitOfWork, utc_now
from facta.cli.main import main
from facta.persistence import Outbox
from support.bank import Deposit, OpenAccount
from support.services import run_sync
from support.statements import Statement

APP = "cli.projections_app:create_app"


def run(*argv: str) -> int:
    return main(["projections", *argv, "--app", APP])


async def _with_app(action: str) -> object:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from facta.persistence.sqlalchemy import create_schema

    app = create_app().build()
    try:
        await create_schema(app.get(AsyncEngine))
        return await _act(app, action)
    finally:
        await app.get(AsyncEngine).dispose()


async def _act(app: Application, action: str) -> object:
    if action == "seed":
        await app.mediator.send(OpenAccount(account_id="ann", owner="ann"))
        for amount in (1, 2, 3):
            await app.mediator.send(Deposit(account_id="ann", amount=amount))
        async with app.operation():  # a stray view that no event justifies
            unit_of_work = app.get(UnitOfWork)
            unit_of_work.views(Statement).put(Statement(id="stray", owner="nobody"))
            await unit_of_work.commit()
        return None
    if action == "prune":
        outbox: Outbox = app.get(Outbox)  # type: ignore[type-abstract]
        return await outbox.prune(utc_now() + timedelta(hours=1))
    async with app.operation():
        views = app.get(UnitOfWork).views(Statement)
        return sorted((view.id, view.balance) for view in await views.find())


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATABASE_URL, f"sqlite:///{tmp_path / 'bank.db'}")
    monkeypatch.delenv("FACTA_APP", raising=False)
    run_sync(_with_app("seed"))


def test_list_names_each_projection_with_its_lifecycle_and_views(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("list") == 0

    rows = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert rows == [
        ["PROJECTION", "LIFECYCLE", "VIEWS"],
        ["AccountStatements", "async", "statement"],
        ["BankActivity", "inline", "activity"],
    ]


def test_status_as_json_shows_state_and_lag(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("status", "--json") == 0

    statuses = {
        item["name"].rsplit(".", 1)[-1]: item for item in json.loads(capsys.readouterr().out)
    }
    assert statuses["AccountStatements"]["state"] == "live"
    assert statuses["AccountStatements"]["pending"] == 0
    assert statuses["BankActivity"]["lifecycle"] == "inline"


def test_rebuild_replays_the_events_and_drops_what_they_do_not_justify(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_sync(_with_app("views")) == [("ann", 6), ("stray", 0)]

    assert run("rebuild", "AccountStatements", "--drain", "0") == 0

    captured = capsys.readouterr()
    assert "rebuilt AccountStatements: replayed 4 events into statement" in captured.out
    assert "rebuilding AccountStatements" in captured.err  # the progress, on stderr
    assert run_sync(_with_app("views")) == [("ann", 6)]


def test_rebuild_of_an_unknown_projection_names_the_known_ones(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("rebuild", "Nope") != 0

    assert "known: AccountStatements, BankActivity" in capsys.readouterr().err


def test_rebuild_after_a_prune_is_refused_and_says_why(
    seeded: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_sync(_with_app("prune"))

    assert run("rebuild", "AccountStatements", "--drain", "0") != 0

    assert "the outbox was pruned" in capsys.readouterr().err
    assert run_sync(_with_app("views")) == [("ann", 6), ("stray", 0)]  # untouched
