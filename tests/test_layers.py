"""The folders show the architecture: each layer imports only the layers below it.

``domain`` imports no other layer; ``application`` (with its ports) uses the domain;
``persistence`` (the back-ends) and ``integration`` use the application and the domain;
``hosting``, ``cli`` and ``testing`` may use everything. Back-ends implement the
application's ports and never call the mediator: the commit algorithm and what follows it
are the application's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FRAMEWORK = Path(__file__).resolve().parents[1] / "framework" / "facta"

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "domain": (
        "facta.application",
        "facta.persistence",
        "facta.integration",
        "facta.hosting",
        "facta.cli",
        "facta.testing",
    ),
    "application": (
        "facta.persistence",
        "facta.integration",
        "facta.hosting",
        "facta.cli",
        "facta.testing",
    ),
    "persistence": (
        "facta.application.mediator",
        "facta.integration",
        "facta.hosting",
        "facta.cli",
        "facta.testing",
    ),
    "integration": ("facta.persistence", "facta.hosting", "facta.cli", "facta.testing"),
}


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports (``from x import y`` counts as ``x`` and ``x.y``)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((FRAMEWORK / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_only_the_layers_below_it(layer: str) -> None:
    breaches = [
        f"{path.relative_to(FRAMEWORK)}:{line} imports {name}"
        for path in modules(layer)
        for line, name in imports_of(path)
        if any(name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[layer])
    ]

    assert breaches == []


def test_back_ends_never_name_the_mediator() -> None:
    named = [
        str(path.relative_to(FRAMEWORK))
        for path in modules("persistence")
        if "Mediator" in {name.rsplit(".", 1)[-1] for _, name in imports_of(path)}
    ]

    assert named == []


def test_the_commit_algorithm_and_the_outbox_contract_are_the_applications() -> None:
    ports = {path.stem for path in modules("application/ports")}

    assert {"unit_of_work", "outbox", "view_store", "projection_store", "event_store"} <= ports
    assert not (FRAMEWORK / "persistence" / "unit_of_work.py").exists()
    assert not (FRAMEWORK / "persistence" / "event_flow.py").exists()
