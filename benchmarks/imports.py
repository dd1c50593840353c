"""How long ``import facta`` takes against ``import pydantic``, and what a core install brings.

Run: ``.venv/bin/python benchmarks/imports.py`` (``--quick`` for fewer rounds; a full run
takes under a minute).

Each import runs in a fresh interpreter (``python -X importtime -c ...``; the figure is
the top-level module's cumulative import time as the interpreter reports it, so process
start-up is left out). The contenders are ``import pydantic`` alone (which defers most of
its modules until first use), pydantic with one ``BaseModel`` subclass (what any
application of typed models pays: pydantic's schema machinery and its plugin loader),
and ``import facta``. Rounds alternate between them; each one's best round counts.
Target (performance issue): ``import facta`` <= 1.2x ``import pydantic``. The
distributions a core install brings are read from facta's metadata (its requirements,
followed recursively, without extras).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from importlib import metadata

CONTENDERS = {
    "import pydantic": ("import pydantic", "pydantic"),
    "pydantic + one BaseModel": (
        "from pydantic import BaseModel\nclass M(BaseModel):\n    x: int",
        "pydantic",
    ),
    "import facta": ("import facta", "facta"),
}
"""Name: (the code run, the module whose cumulative import time is the figure)."""

_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)")


def import_seconds(code: str, module: str) -> float:
    """Seconds of imports ``code`` takes in a fresh interpreter: the sum of the cumulative
    times of the top-level imports it made (``module`` and whatever else it needed)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    total = 0
    seen_module = False
    for line in result.stderr.splitlines():
        match = _LINE.match(line)
        if match is None or match.group(2):  # nested imports are in their parent's figure
            continue
        total += int(match.group(1))
        seen_module = seen_module or match.group(3) == module
    if not seen_module:
        raise RuntimeError(f"{module} was not imported by {code!r}")
    return total / 1e6


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
    best = dict.fromkeys(CONTENDERS, float("inf"))
    names = list(CONTENDERS)
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], import_seconds(*CONTENDERS[name]))
    reference = best["import pydantic"]
    print(f"Import time in a fresh interpreter, best of {rounds} alternating rounds")
    print(f"{'contender':<32}{'ms':>10}{'x pydantic':>12}")
    for name, seconds in best.items():
        print(f"{name:<32}{seconds * 1e3:>10.1f}{seconds / reference:>11.2f}x")
    ratio = best["import facta"] / reference
    print(f"target: import facta <= 1.2x import pydantic: {'ok' if ratio <= 1.2 else 'MISSED'}")
    print()
    print("A core install of facta (no extras) brings: " + ", ".join(core_distributions()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds instead of 9")
    main(3 if parser.parse_args().quick else 9)
