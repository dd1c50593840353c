"""The scripted day (``python -m pizzeria``) runs and narrates what the pizzeria does."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest

from pizzeria.day import run_day


@pytest.fixture
async def narration() -> list[str]:
    """The lines the day writes."""
    out = io.StringIO()
    assert await run_day(out) == 0
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
    registered = position(narration, "* CustomerRegistered #+390815550101", handler)
    placed = position(narration, "* OrderPlaced", registered)
    projection = position(narration, "- OrderSummaryProjection", placed)

    assert command + 1 == handler < registered < placed < projection
    assert narration[placed + 1].strip() == "- OrderSummaryProjection"


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
    retired = position(narration, "* PizzaRetired #hawaiian")

    refused = position(narration, "x refused: PizzaNotAvailable: pizza 'hawaiian'", retired)

    assert "> PlaceOrder" in narration[refused - 2]


async def test_the_day_ends_with_what_the_read_side_shows(narration: list[str]) -> None:
    closing = position(narration, "closing time")

    assert any("delivered" in line and "Giulia Verdi" in line for line in narration[closing:])
    assert any("cancelled" in line and "Marco Rossi" in line for line in narration[closing:])
    assert len(narration) < 150


def test_python_dash_m_pizzeria_runs_the_day_and_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pizzeria"], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == 0, done.stderr
    assert "> AddPizza name=margherita" in done.stdout
    assert done.stderr == ""
