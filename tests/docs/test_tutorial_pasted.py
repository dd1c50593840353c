"""A tutorial you can paste: each page's ``python`` blocks, taken in order into one fresh
file and run with ``python``, work, with nothing supplied by the tests.

The blocks are taken as the site shows them (``--8<--`` includes expanded), written one
after the other into ``page.py`` in an empty folder, and run by this environment's
``python`` (where facta and the sample are installed, as part 1 of the tutorial installs
them), with no ``PYTHONPATH`` and no names given by a harness: a block that uses a name
must import it or follow the block that defines it, and top-level ``await`` is not
Python, so a page runs its asynchronous examples with ``asyncio.run``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from docs.test_docs_examples import DOCS, blocks_of, expand_snippets

TUTORIAL = sorted((DOCS / "tutorial").glob("*.md"))
PASTED = [page for page in TUTORIAL if any(b.language == "python" for b in blocks_of(page))]


def pasted(page: Path) -> str:
    """The page's ``python`` blocks as a reader pastes them: in order, in one file."""
    return "\n\n".join(
        expand_snippets(block) for block in blocks_of(page) if block.language == "python"
    )


@pytest.mark.parametrize("page", [pytest.param(page, id=page.name) for page in PASTED])
def test_a_tutorial_page_runs_pasted_into_one_file(page: Path, tmp_path: Path) -> None:
    script = tmp_path / "page.py"
    script.write_text(pasted(page), encoding="utf-8")
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "PYTEST", "FACTA_", "PIZZERIA_"))
    }

    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, f"{page.name} pasted into one file fails:\n{result.stderr}"


def test_the_tutorial_has_pages_to_paste() -> None:
    assert PASTED, f"no tutorial page under {DOCS / 'tutorial'} has python blocks"
