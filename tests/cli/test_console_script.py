"""The installed ``facta`` console script, run as an operator runs it: in a shell, from the
project's root, with no ``PYTHONPATH`` and no terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.cli_app import DATABASE_URL
from cli.conftest import APP, Database

TESTS = Path(__file__).resolve().parents[1]
FACTA = Path(sys.executable).with_name("facta")


def facta(*argv: str, url: str) -> subprocess.Popen[str]:
    """``facta`` started from the tests folder (the project root of ``cli.cli_app``)."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env.update({DATABASE_URL: url, "FACTA_APP": APP})
    return subprocess.Popen(
        [str(FACTA), *argv],
        cwd=TESTS,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(autouse=True)
def _installed() -> None:
    if not FACTA.exists():
        pytest.fail(f"{FACTA} is missing: `pip install -e .` installs the console script")


def test_the_console_script_finds_the_app_in_the_current_directory(seeded: Database) -> None:
    process = facta("outbox", "stats", url=seeded.url)
    out, err = process.communicate(timeout=30)

    assert (process.returncode, err) == (0, "")
    assert out.split() == ["delivered", "3", "pending", "1", "dead", "letters", "2"]


def test_the_console_script_refuses_to_replay_without_yes_when_not_on_a_terminal(
    seeded: Database,
) -> None:
    process = facta("outbox", "replay", url=seeded.url)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 2
    assert err.endswith("stdin is not a terminal, so pass --yes\n")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_relay_runs_until_signalled_and_then_stops_cleanly(
    seeded: Database, stop: signal.Signals
) -> None:
    process = facta("outbox", "relay", url=seeded.url)
    assert process.stderr is not None
    started = process.stderr.readline()
    assert started.startswith("relaying the outbox of sqlite+facta:///"), started

    deadline = time.monotonic() + 10
    while seeded.stats().pending and time.monotonic() < deadline:  # it polls every 50 ms
        time.sleep(0.02)
    process.send_signal(stop)
    _, err = process.communicate(timeout=30)

    assert process.returncode == 0
    assert err.splitlines() == [
        "stopping after the events in hand (the rest are given back)...",
        "stopped",
    ]
    assert seeded.stats().pending == 0
