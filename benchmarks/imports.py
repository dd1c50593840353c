"""How long importing facta takes against importing pydantic, and what a core install brings.

Run: ``.venv/bin/python benchmarks/imports.py`` (``--quick`` for fewer rounds; a full run
takes about a minute).

Each contender runs in a fresh interpreter (``python -X importtime -c ...``); its figure
is the sum of the cumulative times of the top-level imports its code made, as the
interpreter reports them. The interpreter's own start-up imports (``site`` and what it
needs, read from ``python -X importtime -c pass``) are left out. Modules load from
bytecode, as an installed package's do (pip compiles it on install): the interpreters
write and read their ``.pyc`` files under a temporary ``-X pycache_prefix``, whatever
``PYTHONDONTWRITEBYTECODE`` says, and a warm-up round compiles them first; without that,
facta's source tree would be compiled on every run while pydantic's wheel was not.
Rounds alternate between the contenders; each one's best round counts.

``import facta`` and ``import pydantic`` are both lazy (PEP 562): a name is imported when
first used, so the bare import costs little. The contenders show the whole picture:

- ``import pydantic`` alone, the issue's reference, and pydantic with one ``BaseModel``
  subclass, what any application of typed models pays (pydantic's schema machinery and
  its plugin loader);
- ``import facta``: the public face, nothing resolved yet;
- ``from facta import AggregateRoot, DomainEvent``: the domain kernel a service's model
  needs (facta's base models built), against pydantic with one model;
- ``from facta import *``: every public name, application, persistence and hosting
  layers included (what ``import facta`` cost before it was lazy);
- ``facta --help``: the imports of the command line's start-up.

Target (performance issue): ``import facta`` <= 1.2x ``import pydantic``. The
distributions a core install brings are read from facta's metadata (its requirements,
followed recursively, without extras).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Contender:
    """Code to run in a fresh interpreter, the module it must import, and its baseline."""

    code: str
    module: str
    baseline: str = "import pydantic"
    target: float | None = None


CONTENDERS = {
    "import pydantic": Contender("import pydantic", "pydantic"),
    "pydantic + one BaseModel": Contender(
        "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int", "pydantic"
    ),
    "import facta": Contender("import facta", "facta", target=1.2),
    "from facta import AggregateRoot, DomainEvent": Contender(
        "from facta import AggregateRoot, DomainEvent",
        "facta.domain.events",
        baseline="pydantic + one BaseModel",
    ),
    "from facta import * (every name)": Contender("from facta import *", "facta.hosting.builder"),
    "facta --help": Contender(
        "from facta.cli.main import main\nmain(['--help'])", "facta.cli.main"
    ),
}
"""Name: what is run and what it is compared with."""

_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")

_PYCACHE = tempfile.mkdtemp(prefix="facta-imports-pycache-")
"""Where the measured interpreters keep their bytecode (removed when the script ends)."""

_ENVIRONMENT = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def _top_level_imports(code: str) -> list[tuple[str, int]]:
    """The top-level imports ``code`` made in a fresh interpreter: (module, microseconds)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-X", f"pycache_prefix={_PYCACHE}", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env=_ENVIRONMENT,
    )
    found = []
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match is not None and not match.group(2):  # nested: in their parent's figure
            found.append((match.group(3), int(match.group(1))))
    return found


_START_UP = frozenset(module for module, _ in _top_level_imports("pass"))
"""What the interpreter imports before running any code (``site``, encodings, ...)."""


def import_seconds(contender: Contender) -> float:
    """Seconds of imports the contender's code takes in a fresh interpreter (which also
    checks that the code imported the module it is about)."""
    check = f"\nimport sys\nassert {contender.module!r} in sys.modules, 'not imported'"
    imports = _top_level_imports(contender.code + check)
    return sum(micro for module, micro in imports if module not in _START_UP) / 1e6


def core_distributions(name: str = "facta") -> list[str]:
    """The distributions installing ``name`` without extras brings, with their versions."""
    found: dict[str, str] = {}
    pending = [name]
    while pending:
        current = pending.pop()
        try:
            distribution = metadata.distribution(current)
        except metadata.PackageNotFoundError:
            continue
        key = distribution.metadata["Name"].lower().replace("_", "-")
        if key in found:
            continue
        found[key] = distribution.version
        for requirement in distribution.requires or []:
            if "extra ==" in requirement:
                continue
            pending.append(re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0])
    return [f"{key} {version}" for key, version in sorted(found.items())]


def main(rounds: int) -> None:
    """Measure in alternating rounds, then print the table."""
    for contender in CONTENDERS.values():  # warm-up: compile the bytecode
        import_seconds(contender)
    best = dict.fromkeys(CONTENDERS, float("inf"))
    names = list(CONTENDERS)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], import_seconds(CONTENDERS[name]))
    print(f"Import time in a fresh interpreter, best of {rounds} alternating rounds")
    print(f"{'contender':<46}{'ms':>8}{'ratio':>9}  against")
    for name, contender in CONTENDERS.items():
        ratio = best[name] / best[contender.baseline]
        against = "" if contender.baseline == name else contender.baseline
        print(f"{name:<46}{best[name] * 1e3:>8.1f}{ratio:>8.2f}x  {against}")
    print()
    for name, contender in CONTENDERS.items():
        if contender.target is not None:
            ratio = best[name] / best[contender.baseline]
            verdict = "met" if ratio <= contender.target else "MISSED"
            print(
                f"target: {name} <= {contender.target}x {contender.baseline}: "
                f"{ratio:.2f}x, {verdict}"
            )
    print()
    print("A core install of facta (no extras) brings: " + ", ".join(core_distributions()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    try:
        main(3 if parser.parse_args().quick else 9)
    finally:
        shutil.rmtree(_PYCACHE, ignore_errors=True)
