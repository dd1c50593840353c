"""The tutorial shows the sample's own code, included from its files.

A page includes a whole file, a section the file marks (``--8<-- "path:name"``), or a line
range (``--8<-- "path:start:end"``). Line ranges drift when the sample changes, so every
range must still name lines that the file has, and a range or section of a Python file
must be whole statements: it starts where a statement starts (its decorators, or comment
lines right above it) and ends where a statement of the same body ends, with the
attribute docstring that follows it, if any. What a ``python`` block shows must be
statements of the module itself, not of a class, since the docs tests run it.

When a range no longer fits, the failure lists the file's statements with their lines:
change the range in the page to the lines of the statement it meant (or, better, include
a section that the file marks).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import markdown
import pytest
import yaml

from docs.test_docs_examples import (
    DOCS,
    ROOT,
    Snippet,
    blocks_of,
    expand_snippets,
    snippet_of,
)

TUTORIAL = DOCS / "tutorial"


@dataclass(frozen=True, slots=True)
class Include:
    """One ``--8<--`` line of a tutorial page."""

    page: Path
    line: int
    language: str
    """The language of the fence the line is in."""
    snippet: Snippet

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _tutorial_pages() -> list[Path]:
    return sorted(TUTORIAL.glob("*.md"))


def _includes() -> list[Include]:
    found = []
    for page in _tutorial_pages():
        for block in blocks_of(page):
            for offset, line in enumerate(block.code.splitlines()):
                snippet = snippet_of(line)
                if snippet is not None:
                    found.append(Include(page, block.line + offset, block.language, snippet))
    return found


INCLUDES = [pytest.param(include, id=include.where) for include in _includes()]
PY_RANGES = [
    pytest.param(include, id=include.where)
    for include in _includes()
    if include.snippet.path.suffix == ".py" and (include.snippet.ranges or include.snippet.section)
]


def test_the_tutorial_includes_the_samples_code() -> None:
    assert len(INCLUDES) >= 30, "the tutorial should show the sample's code, included"
    for page in _tutorial_pages():
        text = page.read_text(encoding="utf-8")
        in_fences = sum(
            1
            for block in blocks_of(page)
            for line in block.code.splitlines()
            if snippet_of(line) is not None
        )
        everywhere = sum(1 for line in text.splitlines() if snippet_of(line) is not None)
        assert in_fences == everywhere, f"{page.name}: include code inside a fence only"


def test_the_site_checks_that_included_files_exist() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    [snippets] = [
        extension["pymdownx.snippets"]
        for extension in config["markdown_extensions"]
        if isinstance(extension, dict) and "pymdownx.snippets" in extension
    ]
    assert snippets["check_paths"] is True
    assert snippets["base_path"] == ["."]


@pytest.mark.parametrize("include", INCLUDES)
def test_an_include_names_lines_its_file_has(include: Include) -> None:
    snippet = include.snippet
    assert snippet.path.is_file(), f"{include.where}: no file {snippet.target!r}"
    assert snippet.path.resolve().is_relative_to(ROOT), f"{include.where}: outside the repository"
    length = len(snippet.path.read_text(encoding="utf-8").splitlines())
    for start, end in snippet.ranges:
        assert start is not None and end is not None, (
            f"{include.where}: give both ends of a range ({snippet.target!r}), so that its "
            f"boundaries can be checked"
        )
        assert 1 <= start <= end <= length, (
            f"{include.where}: {snippet.target!r} is not within the file's {length} lines"
        )
    lines = snippet.lines()
    assert any(line.strip() for line in lines), f"{include.where}: {snippet.target!r} is empty"
    if snippet.ranges:  # a section may end with the blank lines a formatter puts before a marker
        assert lines[0].strip() and lines[-1].strip(), (
            f"{include.where}: {snippet.target!r} starts or ends with a blank line"
        )


def _spans_to_check(snippet: Snippet, lines: list[str]) -> list[tuple[int, int]]:
    """The spans a snippet includes, a section's without its blank first and last lines."""
    spans = []
    for start, end in snippet.spans():
        if snippet.section is not None:
            while start < end and not lines[start - 1].strip():
                start += 1
            while end > start and not lines[end - 1].strip():
                end -= 1
        spans.append((start, end))
    return spans


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(decorator.lineno for decorator in decorators)])


def _bodies(tree: ast.Module) -> list[tuple[str, list[ast.stmt]]]:
    """Every body of statements in a module: its own, and those of its classes."""
    bodies: list[tuple[str, list[ast.stmt]]] = [("the module", tree.body)]
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            bodies.append((f"class {node.name}", node.body))
    return bodies


def _fits(body: list[ast.stmt], start: int, end: int, lines: list[str]) -> bool:
    """Whether lines ``start`` to ``end`` are whole consecutive statements of ``body``."""
    for first, statement in enumerate(body):
        opening = _first_line(statement)
        comments = opening
        while comments > 1 and lines[comments - 2].lstrip().startswith("#"):
            comments -= 1
        if not comments <= start <= opening:
            continue
        for last in range(first, len(body)):
            closing = body[last].end_lineno
            following = body[last + 1] if last + 1 < len(body) else None
            if closing == end:
                # an attribute docstring belongs with what it documents
                return not (
                    following is not None
                    and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant)
                    and isinstance(following.value.value, str)
                    and following.lineno == end + 1
                )
    return False


def _statements(tree: ast.Module) -> str:
    rows = []
    for statement in tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        name = getattr(statement, "name", None) or ast.unparse(statement).splitlines()[0][:60]
        rows.append(f"  {_first_line(statement)}:{statement.end_lineno}  {name}")
    return "\n".join(rows)


@pytest.mark.parametrize("include", PY_RANGES)
def test_a_python_range_is_whole_statements(include: Include) -> None:
    snippet = include.snippet
    text = snippet.path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    bodies = _bodies(tree)
    if include.language == "python":  # the docs tests run it: module-level code only
        bodies = bodies[:1]
    for start, end in _spans_to_check(snippet, lines):
        fitting = [name for name, body in bodies if _fits(body, start, end, lines)]
        assert fitting, (
            f"{include.where}: lines {start} to {end} of {snippet.path.relative_to(ROOT)} are "
            f"not whole statements of {' or '.join(name for name, _ in bodies)}; they begin "
            f"with {lines[start - 1].strip()!r} and end with {lines[end - 1].strip()!r}. "
            f"The file's statements now are:\n{_statements(tree)}"
        )


def test_the_range_check_knows_a_statement_from_a_piece_of_one() -> None:
    source = (
        "import enum\n"  # 1
        "\n"
        "# the sizes\n"  # 3
        "@enum.unique\n"  # 4
        "class Size(enum.Enum):\n"  # 5
        "    SMALL = 1\n"  # 6
        "    LARGE = 2\n"  # 7
        "\n"
        "FACTOR = 2\n"  # 9
        '"""The factor."""\n'  # 10
        "\n"
        "def f() -> int:\n"  # 12
        "    return FACTOR\n"  # 13
    )
    lines = source.splitlines()
    tree = ast.parse(source)

    def fits(start: int, end: int) -> bool:
        return any(_fits(body, start, end, lines) for _, body in _bodies(tree))

    assert fits(3, 7) and fits(4, 7) and fits(4, 10) and fits(12, 13) and fits(1, 13)
    assert fits(6, 6) and fits(6, 7)  # statements of a class
    assert not fits(5, 7)  # without its decorator
    assert not fits(4, 6)  # half a class
    assert not fits(9, 9)  # without its docstring
    assert not fits(12, 12) and not fits(2, 7)


def _pymdownx_expansion(page: Path) -> list[str]:
    """The page's code blocks as the site shows them: expanded by pymdownx.snippets."""
    md = markdown.Markdown(
        extensions=["pymdownx.snippets"],
        extension_configs={"pymdownx.snippets": {"base_path": [str(ROOT)], "check_paths": True}},
    )
    lines = md.preprocessors["snippet"].run(page.read_text(encoding="utf-8").split("\n"))
    return [block.code.rstrip("\n") for block in blocks_of(page, "\n".join(lines))]


@pytest.mark.parametrize("page", [pytest.param(page, id=page.name) for page in _tutorial_pages()])
def test_the_docs_tests_run_what_the_site_shows(page: Path) -> None:
    ours = [expand_snippets(block).rstrip("\n") for block in blocks_of(page)]

    assert ours == _pymdownx_expansion(page)


def _tree_paths(tree: str) -> list[str]:
    """The paths a ``text`` tree drawing names (``├── name    comment``), root first."""
    lines = tree.splitlines()
    root = lines[0].split()[0].rstrip("/")
    paths, parents = [root], [root]
    for line in lines[1:]:
        branch = max(line.find("├── "), line.find("└── "))
        if branch < 0:
            continue
        depth = branch // 4 + 1
        name = line[branch + 4 :].split()[0].rstrip("/")
        del parents[depth:]
        parents.append(f"{parents[-1]}/{name}")
        paths.append(parents[-1])
    return paths


def test_the_layout_the_tutorial_draws_is_the_samples() -> None:
    [tree] = [
        block.code
        for block in blocks_of(TUTORIAL / "project.md")
        if block.language == "text" and block.code.startswith("samples/pizzeria/")
    ]
    paths = _tree_paths(tree)

    assert "samples/pizzeria/pizzeria/domain/order.py" in paths
    missing = [path for path in paths if not (ROOT / path).exists()]
    assert not missing, f"the layout in project.md names what the sample lacks: {missing}"
