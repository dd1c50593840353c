"""The tutorial's "Run it" sections are true: their commands run, and show what the pages say.

Each page's ``console`` blocks are run in order, as a reader would run them from the
repository's root: in a folder of the page's own that links to the repository's
``samples``, ``tests`` and ``pyproject.toml`` (so the files a command creates, a SQLite
database, stay out of the checkout), with the files the page asks the reader to write
(a ``python`` block titled with a bare file name, ``title="operations.py"``).

- ``python``, ``pytest`` and ``facta`` run with this interpreter; ``export NAME=value``
  and ``NAME=value command`` set environment variables, as a shell does.
- As a shell does, ``$NAME`` and ``${NAME}`` in a command are replaced by the variable's
  value, and ``$(command)`` by the words that command prints on stdout (run as any other
  command, not shown): ``export $(python script.py)`` sets the ``NAME=value`` lines the
  script prints, for the commands after it.
- Setting up (``pip``, ``python3 -m venv``, ``source``, ``git``, ``./scripts/...``) and
  ``curl`` (which needs a server of the reader's) are not run. Any other program is an
  error, so that nothing a page shows is left unchecked by accident.
- The output a page shows must appear in the command's output (stdout and stderr, as a
  terminal shows them), line by line and in order; ``...`` stands for lines left out,
  blank lines are ignored. Ids (8 hexadecimal digits, or a UUID), times (ISO 8601,
  ``2026-05-01T12:00:00Z``) and durations (``in 0.40s``) match any.
- A command must succeed. One whose shown output ends with ``^C`` is a server: it is
  started on a free port (``PIZZERIA_PORT``; the page shows 8000), stopped with SIGINT
  once its shown output has appeared, and must then end.
- A ``pytest`` run that skipped tests the page shows passing (PostgreSQL cannot be
  reached here) skips this test, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from docs.test_docs_examples import DOCS, ROOT, blocks_of, snippet_of

TUTORIAL = DOCS / "tutorial"

PROGRAMS = {
    "python": [sys.executable],
    "pytest": [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"],
    "facta": [sys.executable, "-m", "facta"],
}
"""The programs whose commands are run, and how."""

NOT_RUN = {"pip", "python3", "source", "git", "curl", "./scripts/run", "./scripts/test"}
"""Programs a page may show without their commands being run."""

LINKED = ("samples", "tests", "pyproject.toml")
"""What the working folder links to in the repository."""

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_TITLE = re.compile(r"""title=["'](?P<name>[\w-]+\.py)["']""")
_OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SUBSTITUTION = re.compile(r"\$\((?P<command>[^()]*)\)")
_VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)\}|(?P<name>[A-Za-z_]\w*))")
_NORMALIZE = (
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?"),
        "<time>",
    ),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{8}\b"), "<id>"),
    (re.compile(r"\bin \d+(\.\d+)?s\b"), "in <t>s"),
    (re.compile(r"\b\d+ deselected\b"), "<n> deselected"),
)
SHOWN_PORT = 8000
SERVER_TIMEOUT = 60.0
TIMEOUT = 300


@dataclass
class Command:
    """A ``$ ...`` line of a console block and the output shown after it."""

    line: str
    shown: list[str] = field(default_factory=list)

    @property
    def words(self) -> list[str]:
        return shlex.split(self.line)

    def expanded(self, environment: dict[str, str], cwd: Path) -> list[str]:
        """The words after the shell's substitutions: ``$(command)`` first, by the words it
        prints, then ``$NAME`` and ``${NAME}`` in each word, by the variable's value."""

        def output_of(found: re.Match[str]) -> str:
            return " ".join(_substituted(found["command"], environment, cwd).split())

        def value_of(found: re.Match[str]) -> str:
            return environment.get(found["braced"] or found["name"], "")

        line = _SUBSTITUTION.sub(output_of, self.line)
        return [_VARIABLE.sub(value_of, word) for word in shlex.split(line)]

    @property
    def is_server(self) -> bool:
        return bool(self.shown) and self.shown[-1].strip() == "^C"

    def expected(self) -> list[str]:
        """The shown lines that must appear, normalized: not ``...``, ``^C`` or blank."""
        return [
            normalize(line)
            for line in self.shown
            if line.strip() and line.strip() not in ("...", "^C")
        ]


def normalize(line: str) -> str:
    line = line.rstrip()
    for pattern, replacement in _NORMALIZE:
        line = pattern.sub(replacement, line)
    return line


def commands_of(page: Path) -> list[Command]:
    commands: list[Command] = []
    for block in blocks_of(page):
        if block.language != "console":
            continue
        current: Command | None = None
        for line in block.code.splitlines():
            if line.startswith("$ "):
                current = Command(line[2:])
                commands.append(current)
            elif current is not None:
                current.shown.append(line)
    return commands


def files_of(page: Path) -> dict[str, str]:
    """The files a page asks the reader to write: ``python`` blocks titled with a file name."""
    lines = page.read_text(encoding="utf-8").splitlines()
    files = {}
    for block in blocks_of(page):
        opening = _OPENING.match(lines[block.line - 2])
        title = _TITLE.search(opening["info"]) if opening else None
        included = any(snippet_of(line) for line in block.code.splitlines())
        if block.language == "python" and title is not None and not included:
            files[title["name"]] = block.code
    return files


def _substituted(line: str, environment: dict[str, str], cwd: Path) -> str:
    """What ``$(line)`` stands for: the stdout of that command, which must succeed."""
    words = shlex.split(line)
    assert words and words[0] in PROGRAMS, f"$({line}): run only {sorted(PROGRAMS)} in $(...)"
    done = subprocess.run(
        [*PROGRAMS[words[0]], *words[1:]],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"$({line}) exited with {done.returncode}:\n{done.stderr}"
    return done.stdout


def _program(command: Command) -> str:
    words = command.words
    while words and _ASSIGNMENT.match(words[0]):
        words = words[1:]
    return words[0] if words else ""


def _pages() -> Iterator[object]:
    for page in sorted(TUTORIAL.glob("*.md")):
        if commands_of(page):
            yield pytest.param(page, id=page.name)


def test_the_tutorial_shows_only_commands_it_knows() -> None:
    unknown = [
        f"{page.name}: $ {command.line}"
        for page in sorted(TUTORIAL.glob("*.md"))
        for command in commands_of(page)
        if _program(command) not in {*PROGRAMS, *NOT_RUN, "export"}
    ]
    assert not unknown, f"add these programs to PROGRAMS or NOT_RUN: {unknown}"


def test_every_part_ends_with_something_to_run() -> None:
    parts = [page for page in sorted(TUTORIAL.glob("*.md")) if page.name != "index.md"]
    for page in parts:
        headings = [
            line for line in page.read_text(encoding="utf-8").splitlines() if line.startswith("## ")
        ]
        assert headings[-1:] == ["## Run it"], f"{page.name} does not end with 'Run it'"
        assert any(_program(command) in PROGRAMS for command in commands_of(page)), (
            f"{page.name}: its 'Run it' runs nothing that the tests can check"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _environment() -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PIZZERIA_", "FACTA_APP", "PYTEST_"))
    }
    environment["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])
    return environment


def _check_output(command: Command, output: str) -> None:
    actual = [normalize(line) for line in output.splitlines() if line.strip()]
    position = 0
    for expected in command.expected():
        try:
            position = actual.index(expected, position) + 1
        except ValueError:
            raise AssertionError(
                f"$ {command.line}\nshows {expected!r}, which is not in its output "
                f"(after line {position}):\n{output}"
            ) from None


def _skip_if_services_are_missing(command: Command, output: str) -> None:
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    if "skipped" in summary and not any("skipped" in line for line in command.shown):
        message = f"$ {command.line} skipped tests (a service is not reachable): {summary}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def _run(argv: list[str], cwd: Path, environment: dict[str, str], command: Command) -> str:
    done = subprocess.run(
        argv,
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    if _program(command) == "pytest":
        _skip_if_services_are_missing(command, done.stdout)
    assert done.returncode == 0, f"$ {command.line}\nexited with {done.returncode}:\n{done.stdout}"
    return done.stdout


def _serve(argv: list[str], cwd: Path, environment: dict[str, str], command: Command) -> str:
    """Start a server, wait for what the page shows of its output, stop it with SIGINT."""
    port = _free_port()
    process = subprocess.Popen(
        argv,
        cwd=cwd,
        env={**environment, "PIZZERIA_PORT": str(port), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    expected = command.expected()
    deadline = time.monotonic() + SERVER_TIMEOUT
    try:
        while expected and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                continue
            if line is None:
                break
            seen.append(line.replace(f":{port}", f":{SHOWN_PORT}"))
            actual = [normalize(text) for text in seen if text.strip()]
            position = 0
            for wanted in expected:
                if wanted not in actual[position:]:
                    break
                position = actual.index(wanted, position) + 1
            else:
                break
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"$ {command.line} did not stop on SIGINT") from None
    while (line := lines.get(timeout=5)) is not None:
        seen.append(line.replace(f":{port}", f":{SHOWN_PORT}"))
    assert process.stdout is not None
    process.stdout.close()
    return "".join(seen)


@pytest.mark.parametrize("page", list(_pages()))
def test_run_it_shows_what_the_page_says(page: Path, tmp_path: Path) -> None:
    for name in LINKED:
        (tmp_path / name).symlink_to(ROOT / name)
    for name, text in files_of(page).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    environment = _environment()

    for command in commands_of(page):
        program = _program(command)
        if program in NOT_RUN:
            continue
        words = command.expanded(environment, tmp_path)
        if program == "export":
            for assignment in words[1:]:
                name, _, value = assignment.partition("=")
                environment[name] = value
            continue
        assignments = {}
        while _ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            assignments[name] = value
        argv = [*PROGRAMS[program], *words[1:]]
        run = _serve if command.is_server else _run
        output = run(argv, tmp_path, {**environment, **assignments}, command)
        _check_output(command, output)


def test_the_output_check_reads_the_page_as_a_reader_would() -> None:
    command = Command(
        "python -m pizzeria day",
        ["", "> StartCooking order_id=23c0ddc4", "...", "17 passed in 0.40s", "^C"],
    )
    assert command.is_server
    assert command.expected() == ["> StartCooking order_id=<id>", "17 passed in <t>s"]

    _check_output(command, "x\n> StartCooking order_id=9f00aa11\ny\n\n17 passed in 3.02s\n")
    with pytest.raises(AssertionError, match="not in its output"):
        _check_output(command, "17 passed in 3.02s\n> StartCooking order_id=9f00aa11\n")


def test_a_command_is_expanded_as_a_shell_expands_it(tmp_path: Path) -> None:
    (tmp_path / "names.py").write_text('print("ORDER=o-1")\nprint("AT=2026-05-01T12:00:00Z")\n')
    environment = {**_environment(), "WHO": "Luigi"}

    exported = Command("export $(python names.py)").expanded(environment, tmp_path)
    shown = Command("facta events show Order ${WHO}-x $WHO --at $AT").expanded(
        {**environment, "AT": "now"}, tmp_path
    )

    assert exported == ["export", "ORDER=o-1", "AT=2026-05-01T12:00:00Z"]
    assert shown == ["facta", "events", "show", "Order", "Luigi-x", "Luigi", "--at", "now"]
    assert normalize("Order 'o-1' (as of 2026-05-01T12:00:00.123+00:00)") == (
        "Order 'o-1' (as of <time>)"
    )
