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

``--8<-- "path"`` lines include a file of the repository as pymdownx.snippets does: whole,
some of its lines (``--8<-- "path:10:40"``, 1-based and inclusive, several ranges separated
by commas), or a section (``--8<-- "path:name"``, the lines between the file's
``--8<-- [start:name]`` and ``--8<-- [end:name]`` comments). A ``python`` block made of
nothing but one such line of a Python file shows that file's own code, so it runs *as that
file's code*: in a private copy of the module the file is (its whole text run anew, under
the module's name), with the file's ``from __future__`` flags, so that a range finds the
names the module defines and imports, and what it registers (a route, a table) is
registered on the copy's objects. The page then sees the module's names bound to the
objects of the module itself (imported by its dotted name when it is in a package, else
loaded from the file), so that its later blocks use the classes the application uses, not
copies. Such a block is run as it is: the top-level ``try`` rule below is for the pages'
own examples.

Blocks whose first line is a file name (``# orders.py``, ``# pyproject.toml``) are also
files of a project: the page's files are written to a folder, and the ``python`` and
``pytest`` commands its ``console`` blocks show are run there, their output compared with
the page's. So a tutorial's files are checked as files, with their own imports.
"""

from __future__ import annotations
import __future__

import ast
import asyncio
import contextlib
import functools
import importlib
import importlib.util
import inspect
import re
import shlex
import subprocess
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import markdown
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_SNIPPET = re.compile(r"^\s*-{1,}8<-{1,}\s+[\"'](?P<target>[^\"']+)[\"']\s*$")
_TARGET = re.compile(
    r"^(?P<path>[^:]+?)"
    r"(?:(?P<ranges>(?::\d*){1,2}(?:,\d*(?::\d*)?)*)|(?P<section>:[a-z][-_0-9a-z]*))?$",
    re.IGNORECASE,
)
_SECTION = re.compile(
    r"^.*?(?<!;)-{1,}8<-{1,}[ \t]+\[[ \t]*(?P<type>start|end)[ \t]*:[ \t]*"
    r"(?P<name>[a-z][-_0-9a-z]*)[ \t]*\].*$",
    re.IGNORECASE,
)
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


@dataclass(frozen=True, slots=True)
class Snippet:
    """A ``--8<-- "path"`` line: a file of the repository, whole, some of its lines, or a
    section of it (the lines between ``--8<-- [start:name]`` and ``--8<-- [end:name]``)."""

    target: str
    """What the line names, as written: ``path``, ``path:start:end[,start:end...]`` or
    ``path:name``."""
    path: Path
    ranges: tuple[tuple[int | None, int | None], ...] = ()
    """The line ranges, 1-based and inclusive; an open end is None."""
    section: str | None = None

    def spans(self) -> list[tuple[int, int]]:
        """The lines of the file this snippet includes, as 1-based inclusive spans."""
        lines = self.path.read_text(encoding="utf-8").splitlines()
        if self.section is not None:
            markers = {
                (found["type"].lower(), index + 1)
                for index, line in enumerate(lines)
                if (found := _SECTION.match(line)) and found["name"] == self.section
            }
            starts = sorted(line for kind, line in markers if kind == "start")
            ends = sorted(line for kind, line in markers if kind == "end")
            if not starts or not ends or ends[0] < starts[0]:
                raise AssertionError(f"--8<-- {self.target!r}: no section {self.section!r}")
            return [(starts[0] + 1, ends[0] - 1)]
        if not self.ranges:
            return [(1, len(lines))]
        return [
            (max(1, start or 1), min(end or len(lines), len(lines))) for start, end in self.ranges
        ]

    def lines(self) -> list[str]:
        """The included lines, as pymdownx.snippets includes them: without section markers."""
        text = self.path.read_text(encoding="utf-8").splitlines()
        return [
            line
            for start, end in self.spans()
            for line in text[start - 1 : end]
            if not _SECTION.match(line)
        ]


def snippet_of(line: str) -> Snippet | None:
    """The snippet a line includes, or None if it is not a ``--8<--`` line.

    Targets are read as pymdownx.snippets reads them; negative line numbers, which these
    pages do not use, are not supported.
    """
    matched = _SNIPPET.match(line)
    if matched is None:
        return None
    target = matched["target"]
    parts = _TARGET.match(target)
    if parts is None:
        raise AssertionError(f"--8<-- {target!r}: not a file, a line range or a section")
    path = Path(parts["path"])
    path = path if path.is_absolute() else ROOT / path
    if parts["section"]:
        return Snippet(target, path, section=parts["section"][1:])
    ranges: list[tuple[int | None, int | None]] = []
    for span in parts["ranges"][1:].split(",") if parts["ranges"] else ():
        start, _, end = span.partition(":")
        ranges.append((int(start) if start else None, int(end) if end else None))
    return Snippet(target, path, tuple(ranges))


def expand_snippets(block: Block) -> str:
    """The block's code with ``--8<-- "path"`` lines replaced, as pymdownx.snippets does."""
    lines = []
    for line in block.code.splitlines():
        snippet = snippet_of(line)
        lines.extend(snippet.lines() if snippet else [line])
    return "\n".join(lines) + "\n"


def _included_file(block: Block) -> Snippet | None:
    """The one snippet of a Python file that a block consists of, if it does."""
    snippets = [snippet_of(line) for line in block.code.splitlines() if line.strip()]
    if len(snippets) == 1 and snippets[0] is not None and snippets[0].path.suffix == ".py":
        return snippets[0]
    return None


@contextlib.contextmanager
def _any_markers() -> Iterator[None]:
    """Let a test module use the markers its own conftest.py registers.

    pytest runs with ``--strict-markers``, and a sample's test module marks its tests with
    markers that its conftest.py registers, which this session (of the docs tests) never
    loaded; the included code is only run here, not collected, so its marks are let be.
    """
    config = getattr(pytest.mark, "_config", None)
    pytest.mark._config = None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pytest.mark._config = config  # type: ignore[attr-defined]


@functools.cache
def module_of(path: Path) -> types.ModuleType:
    """The module that the Python file ``path`` is.

    A file of a package is imported by its dotted name, and must be the file Python
    imports under that name (the sample is installed in editable mode); a file outside
    any package (a test module) is loaded from the file, under a private name.
    """
    path = path.resolve()
    names = [] if path.stem == "__init__" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        names.insert(0, folder.name)
        folder = folder.parent
    if (path.parent / "__init__.py").is_file():
        name = ".".join(names)
        module = importlib.import_module(name)
        imported = Path(module.__file__ or "").resolve()
        assert imported == path, f"{path} is shown, but `import {name}` gives {imported}"
        return module
    relative = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    name = "_docs_included_" + re.sub(r"\W", "_", relative.as_posix())
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"{path} cannot be loaded"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    with _any_markers():
        spec.loader.exec_module(module)
    return module


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


def _run_included(snippet: Snippet, block: Block, module: types.ModuleType) -> None:
    """Run a block that shows (some of) a Python file as that file's code, and give the
    page the module's names."""
    included = module_of(snippet.path)
    text = snippet.path.read_text(encoding="utf-8")
    flags = 0
    if vars(included).get("annotations") is __future__.annotations:
        flags |= __future__.annotations.compiler_flag
    # A private copy of the module: what the shown lines register (a route on the module's
    # router, a table on its metadata) is registered on the copy's, not on the module's.
    namespace: dict[str, object] = {"__name__": included.__name__, "__file__": str(snippet.path)}
    # The lines as the file has them (a section's markers are comments), padded so that a
    # traceback points at the line of the file.
    lines = text.splitlines()
    source = ""
    for start, end in snippet.spans():
        source += "\n" * (start - 1 - source.count("\n")) + "\n".join(lines[start - 1 : end])
    source += "\n"
    try:
        with _any_markers():
            if snippet.spans() != [(1, len(lines))]:
                exec(compile(text, str(snippet.path), "exec", dont_inherit=True), namespace)
            code = compile(source, str(snippet.path), "exec", flags=flags, dont_inherit=True)
            exec(code, namespace)
    except BaseException as error:
        error.add_note(f"in the python block of {block.path} at line {block.line}")
        raise
    for name, value in namespace.items():
        if not name.startswith("__"):
            module.__dict__[name] = getattr(included, name, value)


def _run_block(block: Block, module: types.ModuleType, runner: asyncio.Runner) -> None:
    included = _included_file(block)
    if included is not None:
        _run_included(included, block, module)
        return
    # Padding keeps line numbers: a traceback points at the line of the page.
    source = "\n" * (block.line - 1) + expand_snippets(block)
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
def test_python_blocks_run(
    path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "FACTA_MONGODB_URL" in path.read_text(encoding="utf-8"):
        # a page that uses MongoDB reads the server's URL from the environment, as a
        # reader's program would; the suite's own replica set provides it
        monkeypatch.setenv("FACTA_MONGODB_URL", request.getfixturevalue("mongo_url"))
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


def test_ranges_and_sections_are_included_as_the_site_includes_them(tmp_path: Path) -> None:
    included = tmp_path / "included.py"
    included.write_text(
        "a = 1\n# --8<-- [start:two]\nb = 2\n# --8<-- [end:two]\nc = 3\nd = 4\n", encoding="utf-8"
    )
    site = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": {"base_path": [str(tmp_path)]}},
    )
    for suffix in ("", ":1:3", ":5", ":3:5", ":1:1,5:6", ":two"):
        line = f'--8<-- "{included}{suffix}"'
        shown = site.preprocessors["snippet"].run([line])
        snippet = snippet_of(line)

        assert snippet is not None
        assert snippet.lines() == [text for text in shown if text], suffix


def test_a_block_of_one_included_module_runs_as_that_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "docs_probe_kitchen"
    package.mkdir()
    (package / "__init__.py").write_text("", encoding="utf-8")
    shapes = package / "shapes.py"
    shapes.write_text(
        "from __future__ import annotations\n"
        "\n"
        "from decimal import Decimal\n"
        "\n"
        "REGISTERED: list[str] = []\n"
        "\n"
        "\n"
        "def half(amount: Decimal) -> Decimal:\n"
        "    return amount / 2\n"
        "\n"
        "\n"
        "REGISTERED.append('half')\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    page = tmp_path / "included.md"
    page.write_text(
        f'```python\n--8<-- "{shapes}:8:12"\n```\n\n'
        "```python\n"
        "import docs_probe_kitchen.shapes as shapes\n"
        "\n"
        "assert half is shapes.half and Decimal is shapes.Decimal\n"
        "assert half.__annotations__ == {'amount': 'Decimal', 'return': 'Decimal'}\n"
        "assert shapes.REGISTERED == ['half']  # the block registered on a copy\n"
        "```\n",
        encoding="utf-8",
    )

    run_page(page)
