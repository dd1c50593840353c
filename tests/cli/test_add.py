"""``facta add``: each kind writes its files and their test in the right places, and the
project still passes ``ruff``, ``mypy --strict`` and its tests, whatever the names' lengths.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.projects import CHECKS, assert_passed, generate, run, template_repository
from facta.cli.add import class_name, module_name, tense_warning
from facta.cli.main import main

PROJECT = "a-project-with-thirty-letters1"  # the longest name facta new allows
PACKAGE = PROJECT.replace("-", "_")

ADDED = {
    ("aggregate", "Customer"): ["domain/customer.py", "tests/test_customer.py"],
    ("command", "register-customer"): [
        "application/register_customer.py",
        "tests/test_register_customer.py",
    ],
    ("query", "GetCustomer"): ["application/get_customer.py", "tests/test_get_customer.py"],
    ("event", "CustomerRegistered"): [
        "domain/customer_registered.py",
        "application/on_customer_registered.py",
        "tests/test_customer_registered.py",
    ],
    # the longest names allowed, whose lines are wrapped to fit
    ("aggregate", "AnAggregateWithALongNameAbcdef"): [
        "domain/an_aggregate_with_a_long_name_abcdef.py",
        "tests/test_an_aggregate_with_a_long_name_abcdef.py",
    ],
    ("command", "ACommandWithAVeryLongNameAbcde"): [
        "application/a_command_with_a_very_long_name_abcde.py",
        "tests/test_a_command_with_a_very_long_name_abcde.py",
    ],
    ("query", "GetSomethingWithAVeryLongNameX"): [
        "application/get_something_with_a_very_long_name_x.py",
        "tests/test_get_something_with_a_very_long_name_x.py",
    ],
    ("event", "SomethingWithALongNameHappened"): [
        "domain/something_with_a_long_name_happened.py",
        "application/on_something_with_a_long_name_happened.py",
        "tests/test_something_with_a_long_name_happened.py",
    ],
    ("projection", "TicketBoard"): ["application/ticket_board.py", "tests/test_ticket_board.py"],
    ("projection", "AProjectionWithAVeryLongNameAb"): [
        "application/a_projection_with_a_very_long_name_ab.py",
        "tests/test_a_projection_with_a_very_long_name_ab.py",
    ],
}
OPTIONS = {
    ("projection", "TicketBoard"): ["--on", "TicketOpened"],  # the template's, with a title
    ("projection", "AProjectionWithAVeryLongNameAb"): ["--on", "SomethingWithALongNameHappened"],
}


@dataclass
class Grown:
    project: Path
    outputs: dict[tuple[str, str], str]


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Grown]:
    """A generated project to which every kind was added, from inside one of its folders."""
    folder = tmp_path_factory.mktemp("grown")
    with template_repository(folder / "template-repository"):
        project = generate(folder, PROJECT, "--web")
    outputs: dict[tuple[str, str], str] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project / "tests")  # facta add finds the project above
        for kind, name in ADDED:
            with redirect_stdout(io.StringIO()) as out:
                assert main(["add", kind, name, *OPTIONS.get((kind, name), [])]) == 0
            outputs[kind, name] = out.getvalue()
    yield Grown(project, outputs)


@pytest.mark.parametrize(("kind", "name"), list(ADDED), ids=[f"{k}-{n}" for k, n in ADDED])
def test_each_kind_writes_its_files_and_its_test_in_their_layer(
    grown: Grown, kind: str, name: str
) -> None:
    expected = [
        path if path.startswith("tests/") else f"src/{PACKAGE}/{path}" for path in ADDED[kind, name]
    ]

    for path in expected:
        assert (grown.project / path).is_file(), f"{path} is missing"
    assert grown.outputs[kind, name].splitlines()[: len(expected)] == [
        f"created {path}" for path in expected
    ]


@pytest.mark.parametrize("check", list(CHECKS))
def test_the_project_still_passes_its_checks(
    grown: Grown, check: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"

    result = run(CHECKS[check], grown.project, mypy_cache=cache)

    assert_passed(result, check)
    if check == "pytest":
        assert "skipped" not in result.stdout.splitlines()[-1]


def test_an_existing_file_is_never_overwritten(
    grown: Grown, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(grown.project)
    ticket = grown.project / "src" / PACKAGE / "domain" / "ticket.py"
    before = ticket.read_text()

    code = main(["add", "aggregate", "Ticket"])

    assert code == 2
    assert f"src/{PACKAGE}/domain/ticket.py, tests/test_ticket.py exist already" in (
        capsys.readouterr().err
    )
    assert ticket.read_text() == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        pytest.param("9lives", "cannot name a class", id="digit-first"),
        pytest.param("Register Customer", "cannot name a class", id="space"),
        pytest.param("register__customer", "cannot name a class", id="double-underscore"),
        pytest.param("A" + "b" * 30, "has 31 characters", id="too-long"),
        pytest.param("None", "is taken", id="keyword"),
        pytest.param("DomainEvent", "is taken", id="facta-name"),
    ],
)
def test_a_bad_name_is_refused(
    grown: Grown,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    message: str,
) -> None:
    monkeypatch.chdir(grown.project)

    assert main(["add", "command", name]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "PascalCase" in err or "is taken" in err


def test_outside_a_project_it_says_where_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert main(["add", "command", "RegisterCustomer"]) == 2
    assert "is not in a project made by `facta new`" in capsys.readouterr().err


def test_an_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["add", "saga", "Customers"]) == 2
    assert "invalid choice: 'saga'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param([], "name one with --on EVENT", id="no event"),
        pytest.param(["--on", "NoSuchThing"], "no class NoSuchThing in", id="unknown event"),
    ],
)
def test_a_projection_needs_an_event_of_the_project(
    grown: Grown,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(grown.project)

    assert main(["add", "projection", "Board", *options]) == 2
    assert message in capsys.readouterr().err
    assert not (grown.project / "src" / PACKAGE / "application" / "board.py").exists()


@pytest.mark.parametrize(
    ("given", "klass", "module"),
    [
        ("RegisterCustomer", "RegisterCustomer", "register_customer"),
        ("register-customer", "RegisterCustomer", "register_customer"),
        ("register_customer", "RegisterCustomer", "register_customer"),
        ("GetHTTPStatus", "GetHTTPStatus", "get_http_status"),
        ("Order2Shipped", "Order2Shipped", "order2_shipped"),
    ],
)
def test_names_become_classes_and_modules(given: str, klass: str, module: str) -> None:
    assert class_name(given) == klass
    assert module_name(klass) == module


def test_a_name_already_used_by_a_class_of_the_project_is_refused(
    grown: Grown, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(grown.project)

    assert main(["add", "event", "TicketOpened"]) == 2
    assert (
        f"TicketOpened is already a class of the project, in src/{PACKAGE}/domain/ticket.py"
        in capsys.readouterr().err
    )
    assert not (grown.project / "src" / PACKAGE / "domain" / "ticket_opened.py").exists()


def test_an_event_not_in_the_past_tense_is_written_with_a_warning(
    grown: Grown, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(grown.project)

    assert main(["add", "event", "BakePizza"]) == 0
    assert "warning: BakePizza is not in the past tense" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("kind", "name", "warned"),
    [
        ("event", "OrderPlaced", False),
        ("event", "InvoiceSent", False),
        ("event", "PlaceOrder", True),
        ("event", "OrderNeed", True),
        ("command", "PlaceOrder", False),
        ("command", "OrderPlaced", True),
        ("command", "PizzaBaked", True),
        ("query", "GetPlacedOrders", False),
    ],
)
def test_the_tense_of_a_message_s_name_is_checked(kind: str, name: str, warned: bool) -> None:
    assert (tense_warning(kind, name) is not None) is warned


def test_each_message_gets_a_recognisable_placeholder_field(grown: Grown) -> None:
    package = grown.project / "src" / PACKAGE
    for path in (
        "application/register_customer.py",
        "application/get_customer.py",
        "domain/customer_registered.py",
    ):
        assert "todo_replace_me: str = Field(" in (package / path).read_text(), path
