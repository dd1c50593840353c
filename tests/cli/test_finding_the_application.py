"""``--app MODULE:FACTORY``: every way to name an application, every way to get it wrong,
and the one-line failures when its database cannot be used."""

from __future__ import annotations

import sys

import pytest

from cli.cli_app import DATABASE_URL
from cli.conftest import Database
from facta.cli.main import main


@pytest.mark.parametrize(
    "app",
    [
        pytest.param("cli.cli_app:create_app", id="sync-factory"),
        pytest.param("cli.cli_app:create_app_async", id="async-factory"),
        pytest.param("cli.cli_app:builder", id="factory-returning-a-builder"),
    ],
)
def test_the_app_is_a_sync_or_async_factory_of_an_application_or_builder(
    seeded: Database, capsys: pytest.CaptureFixture[str], app: str
) -> None:
    assert main(["outbox", "stats", "--json", "--app", app]) == 0
    assert '"pending": 1' in capsys.readouterr().out


def test_the_app_defaults_to_the_facta_app_variable(
    seeded: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FACTA_APP", "cli.cli_app:create_app")

    assert main(["outbox", "stats", "--json"]) == 0
    assert '"dead_letters": 2' in capsys.readouterr().out


@pytest.mark.parametrize(
    ("app", "message"),
    [
        pytest.param(
            None,
            "no application given: pass --app MODULE:FACTORY or set FACTA_APP "
            "(e.g. --app myservice.main:create_app)",
            id="missing",
        ),
        pytest.param(
            "cli.cli_app",
            "--app 'cli.cli_app' is not MODULE:FACTORY (e.g. --app myservice.main:create_app)",
            id="no-factory",
        ),
        pytest.param(
            "cli.cli_app:create app",
            "--app 'cli.cli_app:create app' is not MODULE:FACTORY",
            id="not-a-name",
        ),
        pytest.param(
            "cli.no_such_module:create_app",
            "--app cli.no_such_module:create_app: no module named 'cli.no_such_module' "
            "(run facta from your project's root, or add it to PYTHONPATH)",
            id="module-not-found",
        ),
        pytest.param(
            "nowhere.app:create_app",
            "--app nowhere.app:create_app: no module named 'nowhere'",
            id="package-not-found",
        ),
        pytest.param(
            "cli.cli_app:create_ap",
            "--app cli.cli_app:create_ap: module 'cli.cli_app' has no attribute 'create_ap'",
            id="attribute-missing",
        ),
        pytest.param(
            "cli.cli_app:NOT_CALLABLE",
            "--app cli.cli_app:NOT_CALLABLE is a int, not a factory: it must name a callable "
            "that returns a facta.Application or ApplicationBuilder",
            id="not-callable",
        ),
        pytest.param(
            "cli.cli_app:needs_arguments",
            "--app cli.cli_app:needs_arguments: the factory must be callable without arguments",
            id="factory-with-parameters",
        ),
        pytest.param(
            "cli.cli_app:returns_nothing",
            "--app cli.cli_app:returns_nothing returned a NoneType; it must return a "
            "facta.Application or ApplicationBuilder",
            id="wrong-return-type",
        ),
    ],
)
def test_a_bad_app_is_a_usage_error_of_one_line(
    database: Database, capsys: pytest.CaptureFixture[str], app: str | None, message: str
) -> None:
    argv = ["outbox", "stats"] + ([] if app is None else ["--app", app])

    assert main(argv) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"facta: error: {message}")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_a_factory_that_raises_is_a_runtime_failure_of_one_line(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox", "stats", "--app", "cli.cli_app:raises"]) == 1

    assert capsys.readouterr().err == (
        "facta: error: --app cli.cli_app:raises: the factory raised "
        "RuntimeError: the configuration file is missing\n"
    )


def test_traceback_shows_where_a_failure_came_from(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["outbox", "stats", "--app", "cli.cli_app:raises", "--traceback"]) == 1

    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert 'cli_app.py", line' in err
    assert err.endswith("RuntimeError: the configuration file is missing\n")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "postgresql://postgres@127.0.0.1:1/facta",
            "facta: error: cannot reach the database postgresql+asyncpg://postgres@127.0.0.1:1/"
            "facta: ConnectionRefusedError: ",
            id="postgresql-not-listening",
        ),
        pytest.param(
            "postgresql://postgres:secret@127.0.0.1:1/facta",
            "facta: error: cannot reach the database "
            "postgresql+asyncpg://postgres:***@127.0.0.1:1/facta: ",
            id="password-hidden",
        ),
        pytest.param(
            "sqlite:////nonexistent-folder/outbox.db",
            "facta: error: the database sqlite+facta:////nonexistent-folder/outbox.db "
            "failed: unable to open database file",
            id="sqlite-folder-missing",
        ),
    ],
)
@pytest.mark.parametrize("command", ["stats", "pending", "dead", "relay --once"])
def test_an_unreachable_database_is_a_runtime_failure_of_one_line_naming_it(
    database: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    message: str,
    command: str,
) -> None:
    monkeypatch.setenv(DATABASE_URL, url)

    assert main(["outbox", *command.split(), "--app", "cli.cli_app:create_app"]) == 1

    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1 and "secret" not in err


def test_a_database_without_facta_tables_says_how_to_create_them(
    database: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: object,
) -> None:
    monkeypatch.setenv(DATABASE_URL, database.url.replace("outbox.db", "empty.db"))

    assert main(["outbox", "stats", "--app", "cli.cli_app:create_app"]) == 1

    err = capsys.readouterr().err
    assert "facta's tables are missing in the database sqlite+facta:///" in err
    assert "no such table: facta_outbox" in err
    assert "create_schema(engine)" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "code", "stream", "text"),
    [
        pytest.param([], 2, "err", "usage: facta", id="no-command"),
        pytest.param(["outbox"], 2, "err", "usage: facta outbox", id="group-without-command"),
        pytest.param(["nope"], 2, "err", "invalid choice: 'nope'", id="unknown-command"),
        pytest.param(["--version"], 0, "out", "facta 0.1.0", id="version"),
        pytest.param(["outbox", "--help"], 0, "out", "relay", id="help"),
    ],
)
def test_the_command_line_itself(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, stream: str, text: str
) -> None:
    assert main(argv) == code
    assert text in getattr(capsys.readouterr(), stream)


def test_importing_the_cli_imports_no_optional_dependency() -> None:
    import subprocess

    script = (
        "import sys, facta.cli.main; "
        "print(sorted(m for m in ('sqlalchemy', 'pymongo', 'fastapi') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
