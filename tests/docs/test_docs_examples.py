"""The documentation's code runs: every ``python`` block of every page, in order.

The blocks of one page share one namespace, a module of its own registered in
``sys.modules``, so later blocks use what earlier ones defined, and pydantic and
``typing.get_type_hints`` (which facta uses on handler constructors) resolve the names a
page defines. Top-level ``await`` is allowed, on one event loop per page. Code that is
not meant to run is fenced with another language (``text``, ``console``, ``toml``); a
fence without a language fails.

A ``try`` at the top level of a block shows an error, so the block fails if its body
raises nothing; pages need no ``else: raise AssertionError(...)`` of their own.

A page may name its module with ``<!-- docs-module: name -->`` when its blocks import
from it (a conftest.py importing the application module, for example).

Blocks whose first line is a file name (``# orders.py``, ``# pyproject.toml``) are also
files of a project: the page's files are written to a folder, and the ``python`` and
``pytest`` commands its ``console`` blocks show are run there, their output compared with
the page's. So a tutorial's files are checked as files, with their own imports.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SNIPPET = re.compile(r"^\s*-{1,}8<-{1,}\s+[\"'](?P<path>[^\"']+)[\"']\s*$")
_MODULE_NAME = re.compile(r"<!--\s*docs-module:\s*(?P<name>[A-Za-z_][\w.]*)\s*-->")
_FILE_HEADER = re.compile(r"^# (?P<name>[\w-]+\.(py|toml))$")


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced code block of a Markdown page."""

    path: Path
    line: int
    """The line of the block's first line of code in the page (1-based)."""
    language: str
    """The language the fence names, or "" if it names none."""
    code: str


def _language(info: str) -> str:
    """The language of a fence's info string: ``python title="x"`` or ``{ .python }``."""
    words = info.strip().strip("{}").split()
    return words[0].lstrip(".") if words else ""


def _is_closing(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (
        len(stripped) >= len(fence) and stripped.startswith(fence) and set(stripped) == {fence[0]}
    )


def blocks_of(path: Path, text: str | None = None) -> Iterator[Block]:
    """Every fenced code block of a page, in order, dedented to its fence."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    index = 0
    while index < len(lines):
        opening = _OPENING.match(lines[index])
        if opening is None or "`" in opening["info"]:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        first = index + 1
        index = first
        while index < len(lines) and not _is_closing(lines[index], fence):
            index += 1
        if index == len(lines):
            raise AssertionError(f"{path}:{first}: the code fence opened here is never closed")
        body = [line[indent:] if not line[:indent].strip() else line for line in lines[first:index]]
        yield Block(path, first + 1, _language(opening["info"]), "\n".join(body) + "\n")
        index += 1


def _expand_snippets(block: Block) -> str:
    """The block's code with ``--8<-- "path"`` lines replaced, as pymdownx.snippets does."""
    lines = []
    for line in block.code.splitlines():
        snippet = _SNIPPET.match(line)
        lines.append((ROOT / snippet["path"]).read_text(encoding="utf-8") if snippet else line)
    return "\n".join(lines) + "\n"


def module_name(path: Path, text: str) -> str:
    """The name of a page's module: its own, if it names one, or one made from its path."""
    named = _MODULE_NAME.search(text)
    if named is not None:
        return named["name"]
    relative = path.relative_to(DOCS) if path.is_relative_to(DOCS) else Path(path.name)
    return "docs_" + re.sub(r"\W", "_", relative.with_suffix("").as_posix())


def run_page(path: Path, text: str | None = None) -> types.ModuleType:
    """Run a page's ``python`` blocks in order in one new module, and return the module."""
    text = path.read_text(encoding="utf-8") if text is None else text
    name = module_name(path, text)
    module = types.ModuleType(name, f"The examples of {path.name}.")
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        # One event loop per page, as in `python -m asyncio` or a notebook: what one block
        # starts (an engine's connections, say) can be used by the next.
        with asyncio.Runner() as runner:
            for block in blocks_of(path, text):
                if block.language == "python":
                    _run_block(block, module, runner)
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return module


class _ErrorsMustHappen(ast.NodeTransformer):
    """Gives each top-level ``try`` that has ``except`` clauses and no ``else`` an ``else``
    that fails: on a page, such a ``try`` shows an error, so its body must raise."""

    def visit_Module(self, node: ast.Module) -> ast.Module:
        for statement in node.body:
            if isinstance(statement, ast.Try | ast.TryStar) and statement.handlers:
                if not statement.orelse:
                    message = f"line {statement.lineno}: the try block raised nothing"
                    failure = ast.parse(f"raise AssertionError({message!r})").body
                    statement.orelse = [ast.copy_location(failure[0], statement)]
        return ast.fix_missing_locations(node)


def _run_block(block: Block, module: types.ModuleType, runner: asyncio.Runner) -> None:
    # Padding keeps line numbers: a traceback points at the line of the page.
    source = "\n" * (block.line - 1) + _expand_snippets(block)
    try:
        tree = _ErrorsMustHappen().visit(ast.parse(source, str(block.path)))
        code = compile(
            tree,
            str(block.path),
            "exec",
            flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
            dont_inherit=True,
        )
        result = eval(code, module.__dict__)
        if inspect.iscoroutine(result):
            runner.run(result)
    except BaseException as error:
        error.add_note(f"in the python block of {block.path} at line {block.line}")
        raise


_RUNNABLE = {"python": [sys.executable], "pytest": [sys.executable, "-m", "pytest"]}
"""The commands of console blocks that the project test runs, and how."""


def files_of(path: Path) -> dict[str, str]:
    """The project files a page spells out: its blocks headed by a file name, joined."""
    files: dict[str, list[str]] = {}
    for block in blocks_of(path):
        header = _FILE_HEADER.match(block.code.partition("\n")[0])
        if header is not None and block.language in ("python", "toml"):
            files.setdefault(header["name"], []).append(block.code)
    return {name: "\n\n".join(parts) for name, parts in files.items()}


def commands_of(path: Path) -> list[tuple[str, list[str]]]:
    """The ``python`` and ``pytest`` commands of a page's console blocks, with the output
    shown after each."""
    commands: list[tuple[str, list[str]]] = []
    for block in blocks_of(path):
        if block.language != "console":
            continue
        for line in block.code.splitlines():
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
    return [(command, output) for command, output in commands if command.split()[0] in _RUNNABLE]


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def _page_param(path: Path) -> object:
    return pytest.param(path, id=path.relative_to(DOCS).as_posix())


PAGES_WITH_CODE = [
    _page_param(path)
    for path in pages()
    if any(block.language == "python" for block in blocks_of(path))
]


def test_the_docs_have_pages_with_code() -> None:
    assert pages(), f"no pages under {DOCS}"
    assert PAGES_WITH_CODE, "no page has a python block"


@pytest.mark.parametrize("path", PAGES_WITH_CODE)
def test_python_blocks_run(path: Path) -> None:
    run_page(path)


PAGES_WITH_FILES = [_page_param(path) for path in pages() if files_of(path)]


@pytest.mark.parametrize("path", PAGES_WITH_FILES)
def test_files_work_as_a_project(path: Path, tmp_path: Path) -> None:
    for name, text in files_of(path).items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    commands = commands_of(path)
    assert commands, f"{path} spells out files but runs no python or pytest command"

    for command, shown in commands:
        program, *arguments = shlex.split(command)
        argv = [*_RUNNABLE[program], *arguments]
        if program == "pytest":
            argv += ["-p", "no:cacheprovider"]
        result = subprocess.run(
            argv,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"$ {command}\n{result.stdout}{result.stderr}"
        if program == "pytest":
            summary = re.search(r"\d+ passed", shown[-1])
            assert summary is not None and summary.group() in result.stdout, result.stdout
        else:
            assert result.stdout.splitlines() == shown, f"$ {command}\n{result.stdout}"


def test_every_code_fence_names_its_language() -> None:
    unnamed = [
        f"{block.path.relative_to(ROOT)}:{block.line - 1}"
        for path in pages()
        for block in blocks_of(path)
        if not block.language
    ]
    assert not unnamed, (
        "these code fences name no language; use python for code that runs and text, "
        f"console or toml for the rest: {unnamed}"
    )


def test_page_modules_are_unique() -> None:
    names = [module_name(path, path.read_text(encoding="utf-8")) for path in pages()]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    assert not duplicated, f"pages share a module name: {duplicated}"


# The runner itself: what the pages rely on.

_RUNNER_PAGE = """
A first block, with postponed annotations and a name defined only later:

```python
from __future__ import annotations

from facta import ApplicationBuilder, Command, CommandHandler


class Greeting:
    def text(self, name: str) -> str:
        return f"hello {name}"


class Greet(Command[str]):
    name: Name


class GreetHandler(CommandHandler[Greet, str]):
    def __init__(self, greeting: Greeting) -> None:
        self.greeting = greeting

    async def handle(self, command: Greet) -> str:
        return self.greeting.text(command.name)
```

An indented block that names its language with attributes:

!!! note

    ``` { .python title="names.py" }
    Name = str
    ```

~~~~python
app = ApplicationBuilder().scan(__name__).build()
answer = await app.mediator.send(Greet(name="ada"))
~~~~

```text
not run: ```python
```
"""


def test_blocks_share_a_module_that_resolves_names_and_awaits(tmp_path: Path) -> None:
    page = tmp_path / "runner.md"
    page.write_text(_RUNNER_PAGE, encoding="utf-8")

    module = run_page(page)

    assert module.__name__ == "docs_runner"
    assert module.answer == "hello ada"
    assert module.GreetHandler.__module__ == "docs_runner"
    assert "docs_runner" not in sys.modules
    assert [block.language for block in blocks_of(page)] == ["python", "python", "python", "text"]


def test_the_blocks_of_a_page_share_one_event_loop(tmp_path: Path) -> None:
    page = tmp_path / "loop.md"
    page.write_text(
        "```python\nimport asyncio\n\nloop = asyncio.get_running_loop()\n"
        "await asyncio.sleep(0)\n```\n\n"
        "```python\nawait asyncio.sleep(0)\nassert asyncio.get_running_loop() is loop\n```\n",
        encoding="utf-8",
    )

    run_page(page)


def test_a_failing_block_names_its_page_and_line(tmp_path: Path) -> None:
    page = tmp_path / "broken.md"
    page.write_text("Intro.\n\n```python\nx = 1\nassert x == 2\n```\n", encoding="utf-8")

    with pytest.raises(AssertionError) as caught:
        run_page(page)

    assert caught.value.__notes__ == [f"in the python block of {page} at line 4"]
    assert caught.traceback[-1].lineno + 1 == 5


def test_a_try_that_raises_nothing_fails(tmp_path: Path) -> None:
    page = tmp_path / "try.md"
    page.write_text(
        "```python\ntry:\n    x = 1\nexcept ValueError:\n    pass\n```\n", encoding="utf-8"
    )

    with pytest.raises(AssertionError, match="line 2: the try block raised nothing"):
        run_page(page)


def test_snippets_are_included_as_the_site_includes_them(tmp_path: Path) -> None:
    snippet = tmp_path / "snippet.py"
    snippet.write_text("included = 42\n", encoding="utf-8")
    relative = snippet.relative_to(ROOT) if snippet.is_relative_to(ROOT) else snippet
    page = tmp_path / "snippets.md"
    page.write_text(f'```python\n--8<-- "{relative}"\nassert included == 42\n```\n')

    assert run_page(page).included == 42


def test_an_unclosed_fence_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "unclosed.md"
    page.write_text("```python\nx = 1\n", encoding="utf-8")

    with pytest.raises(AssertionError, match="never closed"):
        list(blocks_of(page))
