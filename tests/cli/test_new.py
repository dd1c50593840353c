"""``facta new`` and ``facta update``: every choice makes a project whose checks pass, and an
update brings a template's change while keeping the project's own edits.

For each persistence choice, with and without the web API, a project is generated into a
temporary folder and checked as its README says (``ruff check``, ``ruff format --check``,
``mypy --strict``, ``pytest``), against the working tree's facta (see ``cli.projects``),
its back-end's tests included: on SQLite, on the PostgreSQL at 127.0.0.1:5432 and on a
MongoDB replica set (skipped when they are out of reach, except under ``CI=true``). The
RabbitMQ variant is linted and type-checked; its tests run in memory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cli.projects import (
    CHECKS,
    Variant,
    assert_passed,
    generate,
    package_of,
    run,
    template_repository,
)
from facta.cli.main import main
from facta.cli.new import TEMPLATE, facta_requirement, project_name_problem, update_project
from facta.cli.template_repository import TemplateRepository
from support.services import POSTGRES_URL, run_sync, unavailable

VARIANTS = [
    Variant("sqlite", web=True),
    Variant("sqlite", web=False),
    Variant("postgresql", web=True),
    Variant("postgresql", web=False),
    Variant("mongodb", web=True),
    Variant("mongodb", web=False),
    Variant("postgresql", web=True, broker="rabbitmq"),
]
TESTED = [variant for variant in VARIANTS if variant.broker == "none"]


@dataclass
class Generated:
    """The projects of every variant, and their checks, running or done."""

    folder: Path
    projects: dict[str, Path]
    checks: dict[tuple[str, str], Future[subprocess.CompletedProcess[str]]] = field(
        default_factory=dict
    )
    unreachable: dict[str, BaseException] = field(default_factory=dict)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generated]:
    """Every variant generated, and its checks started on two workers (the machine's
    cores): the tests below wait for the ones they assert on."""
    folder = tmp_path_factory.mktemp("generated")
    cache = tmp_path_factory.getbasetemp() / "mypy-cache"
    with ExitStack() as stack:
        stack.enter_context(template_repository(folder / "template-repository"))
        projects = {
            variant.id: generate(folder, variant.name, *variant.flags()) for variant in VARIANTS
        }
        done = Generated(folder, projects)
        services = _services(done, stack)
        pool = stack.enter_context(ThreadPoolExecutor(max_workers=2))
        for variant in VARIANTS:
            project = projects[variant.id]
            for check, argv in CHECKS.items():
                if check == "pytest" and variant.persistence in done.unreachable:
                    continue
                env = services.get(variant.persistence, {}) if check == "pytest" else {}
                prefix = package_of(variant.name).upper()
                env = {key.replace("PREFIX", prefix): value for key, value in env.items()}
                done.checks[variant.id, check] = pool.submit(
                    run, argv, project, mypy_cache=cache, env=env
                )
        yield done


def _services(generated: Generated, stack: ExitStack) -> dict[str, dict[str, str]]:
    """The servers the generated back-end tests use, as their environment variables."""
    services: dict[str, dict[str, str]] = {}
    try:
        run_sync(_postgres_ready())
        services["postgresql"] = {"PREFIX_TEST_DATABASE_URL": POSTGRES_URL}
    except (OSError, TimeoutError) as error:
        generated.unreachable["postgresql"] = error
    try:
        from support.mongo import mongo_server

        url = stack.enter_context(mongo_server())
        services["mongodb"] = {"PREFIX_TEST_MONGODB_URL": url}
    except (pytest.skip.Exception, pytest.fail.Exception, OSError) as error:
        generated.unreachable["mongodb"] = error
    return services


async def _postgres_ready() -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    await connection.close()


def _result(generated: Generated, variant: Variant, check: str) -> subprocess.CompletedProcess[str]:
    return generated.checks[variant.id, check].result()


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in VARIANTS])
@pytest.mark.parametrize("check", ["ruff check", "ruff format --check", "mypy --strict"])
def test_the_generated_project_passes_lint_and_type_checks(
    generated: Generated, variant: Variant, check: str
) -> None:
    assert_passed(_result(generated, variant, check), f"{check} in {variant.name}")


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.id) for v in TESTED])
def test_the_generated_project_passes_its_tests_on_its_back_end(
    generated: Generated, variant: Variant
) -> None:
    if variant.persistence in generated.unreachable:
        reason = generated.unreachable[variant.persistence]
        if isinstance(reason, pytest.skip.Exception | pytest.fail.Exception):
            raise reason
        unavailable(f"{variant.persistence} for the generated project's tests", reason)
    result = _result(generated, variant, "pytest")
    assert_passed(result, f"pytest in {variant.name}")
    summary = result.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"\d+ passed in [0-9.]+s", summary), result.stdout  # nothing skipped


def test_the_generated_layout_has_the_layers_and_the_example(generated: Generated) -> None:
    project = generated.projects["sqlite-web"]
    package = project / "src" / "svc_sqlite_web"

    files = {path.relative_to(project).as_posix() for path in project.rglob("*") if path.is_file()}

    assert {
        ".copier-answers.yml",
        ".ci/run",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "scripts/run",
        "scripts/test",
        "src/svc_sqlite_web/app.py",
        "src/svc_sqlite_web/settings.py",
        "src/svc_sqlite_web/domain/ticket.py",
        "src/svc_sqlite_web/domain/errors.py",
        "src/svc_sqlite_web/application/open_ticket.py",
        "src/svc_sqlite_web/application/close_ticket.py",
        "src/svc_sqlite_web/application/get_ticket.py",
        "src/svc_sqlite_web/application/notify_team.py",
        "src/svc_sqlite_web/integration/contracts.py",
        "src/svc_sqlite_web/api/routes.py",
        "tests/test_ticket.py",
        "tests/test_api.py",
    } <= files
    for script in (".ci/run", "scripts/run", "scripts/test"):
        assert os.access(project / script, os.X_OK), f"{script} is not executable"
    readme = (project / "README.md").read_text()
    assert "$ ./scripts/run\n$ ./scripts/test\n" in readme
    assert not (generated.projects["sqlite-no-web"] / "src/svc_sqlite_no_web/api").exists()
    assert "facta[sqlalchemy,web]>=" in (project / "pyproject.toml").read_text()
    assert "facta[mongo]" in (generated.projects["mongodb-no-web"] / "pyproject.toml").read_text()
    assert (
        "facta[sqlalchemy,web,amqp]"
        in (generated.projects["postgresql-web-rabbitmq"] / "pyproject.toml").read_text()
    )
    assert (package / "py.typed").is_file()


def test_the_run_command_runs_the_service(generated: Generated) -> None:
    project = generated.projects["sqlite-no-web"]

    result = run([sys.executable, "-m", "svc_sqlite_no_web"], project)

    assert_passed(result, "python -m svc_sqlite_no_web")
    assert '"closed": true' in result.stdout
    assert (project / "svc-sqlite-no-web.db").is_file()


def test_the_answers_record_the_template_version_for_updates(generated: Generated) -> None:
    answers = (generated.projects["sqlite-web"] / ".copier-answers.yml").read_text()

    assert re.search(r"^_commit: v\d", answers, re.M)
    assert f"_src_path: {generated.folder / 'template-repository'}" in answers
    assert f"facta_version: '{facta_requirement()}'" in answers


# facta new: names, folders, and what it refuses.


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[Path]:
    with template_repository(tmp_path / "template-repository") as folder:
        yield folder


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        pytest.param("Orders", "other characters", id="uppercase"),
        pytest.param("9lives", "start with a letter", id="digit-first"),
        pytest.param("order--service", "other characters", id="double-hyphen"),
        pytest.param("order_service", "other characters", id="underscore"),
        pytest.param("x" * 31, "31 characters", id="too-long"),
        pytest.param("import", "Python keyword", id="keyword"),
        pytest.param("json", "standard module json", id="stdlib"),
        pytest.param("facta", "module facta", id="facta"),
    ],
)
def test_a_bad_name_is_refused_with_what_is_allowed(
    repository: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    reason: str,
) -> None:
    code = main(["new", name, "--defaults", "--directory", str(tmp_path / "out")])

    err = capsys.readouterr().err
    assert code == 2
    assert reason in err
    assert "lowercase slug: letters, digits and single hyphens" in err
    assert not (tmp_path / "out").exists()


def test_a_name_is_allowed_when_it_is_a_slug() -> None:
    assert project_name_problem("order-service2") is None


def test_a_non_empty_folder_is_refused_and_left_as_it_was(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "orders"
    target.mkdir()
    (target / "notes.txt").write_text("mine")

    code = main(["new", "orders", "--defaults", "--directory", str(target)])

    assert code == 2
    assert "is not empty (notes.txt): facta new never overwrites files" in capsys.readouterr().err
    assert [path.name for path in target.iterdir()] == ["notes.txt"]


def test_a_file_in_the_way_is_refused(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "orders").write_text("mine")

    assert main(["new", "orders", "--defaults", "--directory", str(tmp_path / "orders")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


def test_an_empty_folder_is_used_and_the_project_gets_a_git_repository(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "orders"
    target.mkdir()

    code = main(["new", "orders", "--no-web", "--directory", str(target)])

    out = capsys.readouterr().out
    assert code == 0
    assert f"created {target} from facta " in out
    assert "SQLite, no HTTP API, no broker" in out
    assert "./scripts/test" in out
    assert (target / ".git").is_dir()
    assert (target / "src" / "orders" / "app.py").is_file()


def test_a_description_that_cannot_be_written_is_refused(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["new", "orders", "--description", 'say "hi"', "--directory", str(tmp_path / "out")]
    )

    assert code == 2
    assert "--description: it has a double quote" in capsys.readouterr().err


def test_without_copier_it_says_which_extra_to_install(
    repository: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "copier", None)

    code = main(["new", "orders", "--defaults", "--directory", str(tmp_path / "out")])

    assert code == 1
    assert "pip install facta[new]" in capsys.readouterr().err


# facta update: the template's change arrives, the project's edit stays.


def _git(project: Path, *argv: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(project), *argv],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _committed_project(folder: Path, name: str = "desk") -> Path:
    project = folder / name
    assert main(["new", name, "--defaults", "--no-web", "--directory", str(project)]) == 0
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "facta new")
    return project


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new))


OPEN_DOC = '"""Open a new ticket; answers its id."""'
TICKET_DOC = '"""A piece of work to do, from opened to closed."""'


def _next_template(folder: Path, old: str, new: str) -> Path:
    """A copy of the template with one change: what the next facta would ship."""
    template = folder / "next-template"
    shutil.rmtree(template, ignore_errors=True)
    shutil.copytree(TEMPLATE, template)
    _edit(template / "project/src/{{package_name}}/application/open_ticket.py.jinja", old, new)
    return template


def test_an_update_brings_the_template_change_and_keeps_the_local_edit(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _committed_project(tmp_path)
    ticket = project / "src/desk/domain/ticket.py"
    _edit(ticket, TICKET_DOC, '"""A piece of work: our own words."""')
    _git(project, "commit", "-qam", "our words")
    template = _next_template(tmp_path, OPEN_DOC, '"""Open a ticket; answers its new id."""')

    code = update_project(project, template=template, version="0.99.0")

    assert code == 0
    assert '"""A piece of work: our own words."""' in ticket.read_text()
    opening = (project / "src/desk/application/open_ticket.py").read_text()
    assert '"""Open a ticket; answers its new id."""' in opening
    answers = (project / ".copier-answers.yml").read_text()
    assert "_commit: v0.99.0" in answers
    assert "facta_version: '>=0.99.0,<0.100'" in answers
    assert "facta[sqlalchemy]>=0.99.0,<0.100" in (project / "pyproject.toml").read_text()
    assert "updated" in capsys.readouterr().out


def test_copier_update_alone_brings_the_latest_template_version(
    repository: Path, tmp_path: Path
) -> None:
    import copier

    project = _committed_project(tmp_path)
    template = _next_template(tmp_path, OPEN_DOC, '"""Open a ticket (a newer template)."""')
    TemplateRepository(str(repository)).publish(template, "0.99.1")

    copier.run_update(str(project), defaults=True, overwrite=True, quiet=True, unsafe=False)

    opening = (project / "src/desk/application/open_ticket.py").read_text()
    assert '"""Open a ticket (a newer template)."""' in opening
    assert "_commit: v0.99.1" in (project / ".copier-answers.yml").read_text()


def test_a_conflicting_edit_is_reported_and_exits_1(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _committed_project(tmp_path)
    _edit(project / "src/desk/application/open_ticket.py", OPEN_DOC, '"""Ours."""')
    _git(project, "commit", "-qam", "ours")
    template = _next_template(tmp_path, OPEN_DOC, '"""Theirs."""')

    code = update_project(project, template=template, version="0.99.0")

    assert code == 1
    assert "with conflicts in: src/desk/application/open_ticket.py" in capsys.readouterr().err
    assert "<<<<<<<" in (project / "src/desk/application/open_ticket.py").read_text()


def test_a_project_up_to_date_is_left_alone(
    repository: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = _committed_project(tmp_path)
    capsys.readouterr()

    assert main(["update", str(project)]) == 0
    assert "is up to date with facta" in capsys.readouterr().out
    assert _git(project, "status", "--porcelain") == ""


def test_the_same_version_with_another_template_is_a_new_revision(
    repository: Path, tmp_path: Path
) -> None:
    project = _committed_project(tmp_path)
    template = _next_template(tmp_path, OPEN_DOC, '"""Open a ticket (revised)."""')
    version = re.search(r"_commit: v(\S+)", (project / ".copier-answers.yml").read_text())
    assert version is not None

    assert update_project(project, template=template, version=version[1]) == 0
    assert f"_commit: v{version[1]}+1" in (project / ".copier-answers.yml").read_text()


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        pytest.param("no-git", "is not in git: facta update merges", id="not-in-git"),
        pytest.param("dirty", "has uncommitted changes (README.md)", id="uncommitted"),
        pytest.param("newer", "was made from a newer template (v0.99.0)", id="newer-template"),
    ],
)
def test_an_update_that_cannot_be_done_says_why(
    repository: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    prepare: str,
    message: str,
) -> None:
    if prepare == "no-git":
        project = tmp_path / "desk"
        assert main(["new", "desk", "--defaults", "--no-git", "--directory", str(project)]) == 0
    else:
        project = _committed_project(tmp_path)
    if prepare == "dirty":
        (project / "README.md").write_text("changed")
    if prepare == "newer":
        update_project(
            project, template=_next_template(tmp_path, OPEN_DOC, '"""v99"""'), version="0.99.0"
        )
        _git(project, "commit", "-qam", "updated")
    capsys.readouterr()

    code = main(["update", str(project)])

    assert code == (1 if prepare == "newer" else 2)
    assert message in capsys.readouterr().err


def test_outside_a_generated_project_update_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", str(tmp_path)]) == 2
    assert "is not in a project made by `facta new`" in capsys.readouterr().err


def test_a_version_this_machine_never_had_is_fetched_from_facta_s_wheel(
    repository: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old = TemplateRepository(str(repository))
    old.publish(TEMPLATE, "0.0.9")
    project = tmp_path / "desk"
    import copier

    copier.run_copy(
        str(repository),
        str(project),
        data={"project_name": "desk", "web": False, "facta_version": ">=0.0.9,<0.1"},
        vcs_ref="v0.0.9",
        defaults=True,
        quiet=True,
    )
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "commit", "-qm", "made on another machine")
    shutil.rmtree(repository)  # this machine never had 0.0.9's template
    index = tmp_path / "index"
    _fake_wheel(index, "0.0.9")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))

    assert main(["update", str(project)]) == 0
    assert TemplateRepository(str(repository)).has("v0.0.9")
    assert "_commit: v0.0.9" not in (project / ".copier-answers.yml").read_text()
    assert "updated" in capsys.readouterr().out


def _fake_wheel(folder: Path, version: str) -> None:
    """A wheel of facta ``version`` holding this facta's template, for pip to download."""
    folder.mkdir()
    info = f"facta-{version}.dist-info"
    with zipfile.ZipFile(folder / f"facta-{version}-py3-none-any.whl", "w") as wheel:
        for path in TEMPLATE.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                wheel.write(path, f"facta/templates/service/{path.relative_to(TEMPLATE)}")
        wheel.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: facta\nVersion: {version}\n"
        )
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_on_a_terminal_it_asks_the_questions(tmp_path: Path) -> None:
    import pty
    import select

    target = tmp_path / "desk"
    terminal, child_end = pty.openpty()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("facta")), "new", "desk", "--no-git",
         "--directory", str(target)],
        stdin=child_end, stdout=child_end, stderr=child_end, start_new_session=True,
        env={**os.environ, "FACTA_TEMPLATE_REPOSITORY": str(tmp_path / "template-repository"),
             "PROMPT_TOOLKIT_NO_CPR": "1"},
    )  # fmt: skip
    os.close(child_end)
    seen = b""

    def expect(text: bytes, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen and time.monotonic() < deadline:
            if select.select([terminal], [], [], 0.1)[0]:
                try:
                    seen += os.read(terminal, 4096)
                except OSError:
                    break
        assert text in seen, f"no {text!r} in {seen.decode(errors='replace')[-600:]}"
        seen = b""

    try:
        for prompt, keys in [
            (b"what the service does", b"\r"),  # the default
            (b"Where the service keeps", b"\x1b[B\r"),  # down to PostgreSQL
            (b"Serve an HTTP API", b"n"),
            (b"message broker", b"\r"),  # none
        ]:
            expect(prompt)
            os.write(terminal, keys)
        expect(b"./scripts/run")
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
        os.close(terminal)

    answers = (target / ".copier-answers.yml").read_text()
    assert "persistence: postgresql\n" in answers
    assert "web: false\n" in answers
    assert "broker: none\n" in answers
