"""facta's public face: sorted ``__all__`` lists that resolve, one error root, documented
names, and no optional dependency imported by the core."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
from types import FunctionType, ModuleType

import pytest

import facta
import facta.errors

PUBLIC_MODULES = [
    "facta",
    "facta.domain",
    "facta.application",
    "facta.persistence",
    "facta.hosting",
    "facta.testing",
    "facta.errors",
]

OPTIONAL_DEPENDENCIES = [
    "sqlalchemy",
    "pymongo",
    "motor",
    "aio_pika",
    "fastapi",
    "httpx",
    "cloudevents",
    "opentelemetry",
]


def _module(name: str) -> ModuleType:
    return importlib.import_module(name)


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps ``__all__`` in: CONSTANTS, then Classes, then functions."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def _defined_by_facta(value: object) -> bool:
    """Whether a module attribute is facta's own, not a helper it imported."""
    if inspect.isclass(value) or inspect.isfunction(value):
        return value.__module__.split(".")[0] == "facta"
    return type(value).__module__ != "__future__"  # `from __future__ import annotations`


def _public_objects() -> list[pytest.ParameterSet]:
    seen: set[int] = set()
    params = []
    for module_name in PUBLIC_MODULES:
        module = _module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            seen.add(id(obj))
            params.append(pytest.param(obj, id=f"{module_name}.{name}"))
    return params


def _error_classes() -> list[pytest.ParameterSet]:
    return [
        pytest.param(obj, id=name)
        for name, obj in vars(facta.errors).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == "facta.errors"
    ]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_is_sorted(module_name: str) -> None:
    names = list(_module(module_name).__all__)

    assert names == sorted(names, key=_isort_key)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_all_has_no_duplicates(module_name: str) -> None:
    names = _module(module_name).__all__

    assert len(names) == len(set(names))


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_resolves(module_name: str) -> None:
    module = _module(module_name)

    missing = [name for name in module.__all__ if not hasattr(module, name)]

    assert missing == []


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_of_a_public_module_is_in_its_all(module_name: str) -> None:
    module = _module(module_name)

    public = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and _defined_by_facta(value)
    }

    assert public - set(module.__all__) == set()


def test_facta_exports_every_error() -> None:
    assert set(facta.errors.__all__) <= set(facta.__all__)


@pytest.mark.parametrize("error_class", _error_classes())
def test_every_error_derives_from_facta_error(error_class: type[BaseException]) -> None:
    assert issubclass(error_class, facta.FactaError)


def test_every_error_class_is_listed_in_the_errors_all() -> None:
    classes = {
        name
        for name, obj in vars(facta.errors).items()
        if inspect.isclass(obj) and obj.__module__ == "facta.errors"
    }

    assert classes == set(facta.errors.__all__)


@pytest.mark.parametrize("obj", _public_objects())
def test_every_public_class_and_function_has_a_docstring(obj: type | FunctionType) -> None:
    docstring = (obj.__doc__ or "").strip()
    generated_by_dataclass = docstring.startswith(f"{getattr(obj, '__name__', '')}(")

    assert docstring
    assert not generated_by_dataclass


@pytest.mark.parametrize(
    "module_name",
    [
        pytest.param("facta", id="facta"),
        pytest.param("facta.testing", id="facta.testing"),
    ],
)
def test_importing_facta_imports_no_optional_dependency(module_name: str) -> None:
    code = (
        f"import sys, {module_name}\n"
        f"print(','.join(sorted(m for m in {OPTIONAL_DEPENDENCIES!r} if m in sys.modules)))"
    )

    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )

    assert result.stdout.strip() == ""


def test_facta_has_a_version() -> None:
    assert facta.__version__ == "0.1.0"
