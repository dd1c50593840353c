"""``facta describe``: an application's message flow as text, Mermaid, or a Markdown page,
and the pizzeria's flow page in the docs, which must be what the pizzeria gives now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from cli.cli_app import DATABASE_URL
from facta.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
PIZZERIA = "pizzeria.app:create_app"
FLOW_PAGE = "docs/reference/pizzeria-flow.md"
FLOW_TITLE = "Mario's Pizzeria: the message flow"
REGENERATE = [
    "describe",
    "--app",
    PIZZERIA,
    "--format",
    "markdown",
    "--title",
    FLOW_TITLE,
    "--output",
    FLOW_PAGE,
]


@pytest.fixture
def cli_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI tests' parcels application (its database is never opened here)."""
    monkeypatch.setenv(DATABASE_URL, f"sqlite:///{tmp_path / 'never-opened.db'}")
    return "cli.cli_app:create_app"


def test_the_text_shows_each_command_with_what_follows(
    cli_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "--app", cli_app]) == 0

    out = capsys.readouterr().out
    assert "Commands:\n  Ship -> ShipHandler\n      records ParcelShipped\n" in out
    assert "  ParcelShipped\n    -> Notifier\n    -> Tracker\n" in out


def test_the_mermaid_diagram_draws_commands_and_events(
    cli_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "--app", cli_app, "--format", "mermaid"]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    msg_Ship["Ship"]' in lines
    assert "    msg_Ship --> evt_ParcelShipped" in lines


def test_the_pizzeria_flow_names_its_commands_and_their_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["describe", "--app", PIZZERIA]) == 0

    out = capsys.readouterr().out
    assert "  PlaceOrder -> PlaceOrderHandler\n" in out
    assert "      records OrderPlaced\n" in out
    assert "Queries:\n  GetCustomerOrders -> GetCustomerOrdersHandler\n" in out


def test_inline_projections_are_listed_first_with_the_events_they_apply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["describe", "--app", PIZZERIA]) == 0

    out = capsys.readouterr().out
    assert "  CustomerRegistered\n    -> CustomerProjection (inline)\n" in out
    assert "  OrderCancelled\n    -> OrderSummaries (inline)\n    -> FreeSlotOnCancel\n" in out


def test_the_docs_page_of_the_pizzeria_flow_is_up_to_date(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)

    code = main([*REGENERATE, "--check"])

    assert code == 0, (
        f"{FLOW_PAGE} is not what the pizzeria gives now; regenerate it from the repository's "
        f"root with: facta describe --app {PIZZERIA} --format markdown --title "
        f'"{FLOW_TITLE}" --output {FLOW_PAGE}\n{capsys.readouterr().err}'
    )
    page = (ROOT / FLOW_PAGE).read_text()
    assert page.startswith(f"# {FLOW_TITLE}\n")
    assert '<div class="facta-flow-map">\n<svg xmlns="http://www.w3.org/2000/svg"' in page
    assert "```mermaid" not in page
    assert f'$ facta describe --app {PIZZERIA} --format markdown --title "{FLOW_TITLE}"' in page


def test_check_fails_on_a_page_that_drifted_and_leaves_it_alone(
    cli_app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "flow.md"
    written = ["describe", "--app", cli_app, "--format", "markdown", "--output", str(page)]
    assert main(written) == 0
    assert page.read_text().startswith(f"# The message flow of {cli_app}\n")
    page.write_text(page.read_text().replace("ParcelShipped", "ParcelSent"))
    capsys.readouterr()

    assert main([*written, "--check"]) == 1
    assert "differs from what the application gives: run `facta describe" in (
        capsys.readouterr().err
    )
    assert "ParcelSent" in page.read_text()


def test_check_of_a_missing_page_fails(
    cli_app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "missing.md")
    argv = ["describe", "--app", cli_app, "--format", "markdown", "--output", missing]

    assert main([*argv, "--check"]) == 1
    assert "missing.md is missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--title", "Flow"], "add --format markdown", id="title-without-a-page"),
        pytest.param(["--format", "png"], "invalid choice: 'png'", id="unknown-format"),
    ],
)
def test_misused_options_are_usage_errors(
    cli_app: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(["describe", "--app", cli_app, *argv]) == 2
    assert message in capsys.readouterr().err


def test_without_an_app_it_says_how_to_name_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FACTA_APP", raising=False)

    assert main(["describe"]) == 2
    assert "no application given: pass --app MODULE:FACTORY" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "facta.cli.describe", "--app", PIZZERIA, "--format", "mermaid"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("flowchart LR\n")


def test_check_fails_on_a_handler_of_an_event_nothing_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["describe", "--app", "cli.ghosts:create_app", "--check"]) == 1

    err = capsys.readouterr().err
    assert "ghost handler: cli.ghosts.Insurer handles ParcelLost" in err
    assert "Tracker" not in err


def test_check_lists_the_recorded_events_nothing_uses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["describe", "--app", "cli.ghosts:create_app", "--check"])

    err = capsys.readouterr().err
    assert "unused event: ParcelWeighed is recorded, but no handler reacts" in err
    assert "unused event: ParcelShipped" not in err


def test_check_passes_when_every_handled_event_is_recorded(
    cli_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["describe", "--app", cli_app, "--check"]) == 0
    assert "no ghost handlers (0 unused events)" in capsys.readouterr().err


def test_the_pizzeria_has_no_ghost_handlers(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["describe", "--app", PIZZERIA, "--check"])

    assert code == 0, capsys.readouterr().err


def test_the_svg_is_a_picture_of_the_commands_and_events(
    cli_app: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    picture = tmp_path / "flow.svg"

    assert main(["describe", "--app", cli_app, "--format", "svg", "--output", str(picture)]) == 0

    root = ElementTree.parse(picture).getroot()
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert {"Ship", "ParcelShipped"} <= set(texts)
    assert len(list(root.iter("{http://www.w3.org/2000/svg}path"))) >= 2  # arrows


def test_the_html_page_holds_the_picture_and_the_text(
    cli_app: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["describe", "--app", cli_app, "--format", "html", "--title", "Parcels"]
    assert main(argv) == 0

    out = capsys.readouterr().out
    assert out.startswith("<!DOCTYPE html>")
    assert "<h1>Parcels</h1>" in out
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in out
    assert "Ship -&gt; ShipHandler" in out
