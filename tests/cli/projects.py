"""Projects made by ``facta new`` for the tests, and the checks their README promises.

A generated project is installed "against the working tree's facta" the fast way: its
checks run with this virtualenv's Python, ruff and mypy, where facta is installed in
editable mode with every extra, and its pytest configuration puts ``src`` on the path.
The project's own ``./scripts/test`` would make a ``.venv`` and install facta from the
package index instead, which the tests must not depend on; it runs the same four checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from facta.cli.main import main

BIN = Path(sys.executable).parent

CHECKS: dict[str, list[str]] = {
    "ruff check": [str(BIN / "ruff"), "check", "--no-cache", "."],
    "ruff format --check": [str(BIN / "ruff"), "format", "--check", "--no-cache", "."],
    "mypy --strict": [str(BIN / "mypy")],
    "pytest": [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs"],
}
"""What ``./scripts/test`` runs in a generated project, from this virtualenv."""


@dataclass(frozen=True)
class Variant:
    """One combination of ``facta new``'s answers."""

    persistence: str
    web: bool
    broker: str = "none"

    @property
    def id(self) -> str:
        web = "web" if self.web else "no-web"
        return f"{self.persistence}-{web}" + ("" if self.broker == "none" else f"-{self.broker}")

    @property
    def name(self) -> str:
        """The project's name: a different package for each variant."""
        return "svc-" + self.id

    def flags(self) -> list[str]:
        return [
            f"--persistence={self.persistence}",
            "--web" if self.web else "--no-web",
            f"--broker={self.broker}",
        ]


def package_of(name: str) -> str:
    return name.replace("-", "_")


@contextmanager
def template_repository(folder: Path) -> Iterator[Path]:
    """``facta new`` keeps its template versions in ``folder``, not in the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FACTA_TEMPLATE_REPOSITORY", str(folder))
        yield folder


def generate(folder: Path, name: str, *flags: str) -> Path:
    """``facta new NAME --defaults FLAGS`` in ``folder``; the project's path."""
    target = folder / name
    code = main(["new", name, "--defaults", "--no-git", "--directory", str(target), *flags])
    assert code == 0, f"facta new {name} {' '.join(flags)} exited with {code}"
    return target


def run(
    argv: list[str],
    project: Path,
    *,
    mypy_cache: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` in ``project`` with ``src`` on the path, as its scripts would."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    }
    environment["PYTHONPATH"] = str(project / "src")
    if mypy_cache is not None:
        environment["MYPY_CACHE_DIR"] = str(mypy_cache)
    environment.update(env or {})
    return subprocess.run(
        argv,
        cwd=project,
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_passed(result: subprocess.CompletedProcess[str], what: str) -> None:
    assert result.returncode == 0, f"{what} failed:\n{result.stdout}\n{result.stderr}"
