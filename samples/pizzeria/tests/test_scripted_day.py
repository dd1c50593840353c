"""The scripted day (``python -m pizzeria day``) runs and narrates what the pizzeria does, on a
new SQLite file by default, or on the empty database it is pointed at (PostgreSQL, MongoDB)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pizzeria.__main__ import main
from pizzeria.day import DAY_ALREADY_PLAYED, run_day
from pizzeria.settings import DATABASE_URL_VARIABLE


@pytest.fixture(scope="module")
def narration() -> list[str]:
    """The lines the day writes on its own SQLite file (played once for these tests)."""
    out, err = io.StringIO(), io.StringIO()
    assert asyncio.run(run_day(out, err=err)) == 0, err.getvalue()
    return out.getvalue().splitlines()


def position(lines: list[str], text: str, after: int = -1) -> int:
    """The index of the first line after ``after`` that contains ``text``."""
    found = [i for i, line in enumerate(lines) if i > after and text in line]
    assert found, f"no line after line {after} contains {text!r}"
    return found[0]


async def test_the_day_narrates_each_command_its_handler_and_its_events_in_order(
    narration: list[str],
) -> None:
    command = position(narration, "> PlaceOrder phone=+390815550101")
    handler = position(narration, "- PlaceOrderHandler", command)
    placed = position(narration, "* OrderPlaced", handler)
    confirmed = position(narration, "* OrderConfirmed", placed)

    assert command + 1 == handler < placed < confirmed
    assert narration[placed + 1].strip() == "- KitchenBoardProjection"  # the asynchronous one


async def test_the_day_shows_the_kitchen_refusing_a_fourth_order(narration: list[str]) -> None:
    refusal = position(narration, "x refused: KitchenFull")

    assert "3 of 3 slots cooking" in narration[refusal]
    assert "> StartCooking" in narration[refusal - 2]


async def test_the_day_shows_the_kitchen_freeing_slots_by_reacting_to_events(
    narration: list[str],
) -> None:
    ready = position(narration, "* OrderReady")
    reaction = position(narration, "- FreeSlotOnReady", ready)
    freed = position(narration, "* KitchenSlotFreed", reaction)

    assert ready < reaction == freed - 1
    assert narration[freed].startswith("    * ")
    assert any("- FreeSlotOnCancel" in line for line in narration)


async def test_the_day_shows_a_retired_pizza_refused(narration: list[str]) -> None:
    retired = position(narration, "> RetirePizza name=hawaiian")

    refused = position(narration, "x refused: PizzaNotAvailable: pizza 'hawaiian'", retired)

    assert "> PlaceOrder" in narration[refused - 2]


async def test_the_day_ends_with_what_the_read_side_shows(narration: list[str]) -> None:
    closing = position(narration, "closing time")

    assert any("delivered" in line and "Giulia Verdi" in line for line in narration[closing:])
    assert any("cancelled" in line and "Marco Rossi" in line for line in narration[closing:])
    assert len(narration) < 150


def test_the_day_ends_naming_its_sqlite_file_which_is_gone_afterwards(
    narration: list[str],
) -> None:
    where = re.fullmatch(
        r"The day ran on sqlite:///(\S+/pizzeria\.db) \(.*removed.*\)\.", narration[-1]
    )

    assert where is not None, narration[-1]
    assert not Path(where[1]).parent.exists()


async def test_the_day_can_be_played_in_memory() -> None:
    out = io.StringIO()

    assert await run_day(out, in_memory=True) == 0
    assert out.getvalue().splitlines()[-1] == "The day ran in memory, without a database."


@pytest.mark.backends("postgresql", "mongodb")
async def test_the_day_runs_on_a_database_server_and_refuses_a_database_it_already_filled(
    database_url: str,
) -> None:
    out, err = io.StringIO(), io.StringIO()

    assert await run_day(out, database_url, err=err) == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[-1] == f"The day ran on {database_url}."
    assert any("delivered" in line and "Giulia Verdi" in line for line in lines)

    again, err = io.StringIO(), io.StringIO()
    assert await run_day(again, database_url, err=err) == DAY_ALREADY_PLAYED
    assert "already holds a pizzeria" in err.getvalue()
    assert "at an empty database" in err.getvalue()
    assert "> PlaceOrder" not in again.getvalue()


def test_python_dash_m_pizzeria_day_runs_the_day_on_a_new_sqlite_file_and_exits_0() -> None:
    environment = {k: v for k, v in os.environ.items() if k != DATABASE_URL_VARIABLE}
    done = subprocess.run(
        [sys.executable, "-m", "pizzeria", "day"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )

    assert done.returncode == 0, done.stderr
    assert "> AddPizza name=margherita" in done.stdout
    assert "The day ran on sqlite:///" in done.stdout.splitlines()[-1]
    assert done.stderr == ""


@pytest.mark.backends("mongodb")
def test_python_dash_m_pizzeria_day_runs_on_the_mongodb_url_of_the_environment(
    database_url: str,
) -> None:
    environment = {**os.environ, DATABASE_URL_VARIABLE: database_url}
    done = subprocess.run(
        [sys.executable, "-m", "pizzeria", "day"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=environment,
    )

    assert done.returncode == 0, done.stderr
    assert "* OrderPlaced" in done.stdout and "x refused: KitchenFull" in done.stdout
    assert done.stdout.splitlines()[-1] == f"The day ran on {database_url}."
    assert done.stderr == ""


def test_the_database_url_comes_from_the_environment_unless_the_flag_names_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from_environment, from_flag = tmp_path / "environment.db", tmp_path / "flag.db"
    monkeypatch.setenv(DATABASE_URL_VARIABLE, f"sqlite:///{from_environment}")

    assert main(["day"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"The day ran on sqlite:///{from_environment}."
    )
    assert main(["day", "--database-url", f"sqlite:///{from_flag}"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"The day ran on sqlite:///{from_flag}."

    assert main(["day"]) == DAY_ALREADY_PLAYED
    refusal = capsys.readouterr()
    assert "Point PIZZERIA_DATABASE_URL (or --database-url) at an empty database" in refusal.err
    assert refusal.out == ""
