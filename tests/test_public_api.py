"""facta's public face: sorted ``__all__`` lists that resolve, one error root, documented
names, no optional dependency imported by the core, and names imported when first used."""

from __future__ import annotations

import ast
import importlib
import inspect
import pickle
import subprocess
import sys
from pathlib import Path
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


# Lazy packages: the names are imported when first used (``facta._lazy``), so that
# ``import facta`` is cheap and ``from facta import AggregateRoot`` loads the domain only.

LAZY_PACKAGES = [
    "facta",
    "facta.domain",
    "facta.application",
    "facta.persistence",
    "facta.hosting",
    "facta.integration",
]


def _lazy_declarations(package: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What a lazy package's ``__init__`` declares: its imports under ``typing.TYPE_CHECKING``
    (what type checkers read) and the table given to ``lazy_exports`` (what runs), each
    as module: names."""
    path = Path(_module(package).__file__ or "")
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "typing.TYPE_CHECKING":
            imports = {
                statement.module or "": [alias.name for alias in statement.names]
                for statement in node.body
                if isinstance(statement, ast.ImportFrom)
            }
            call = node.orelse[0].value  # type: ignore[attr-defined]
            table = ast.literal_eval(call.args[1])
            return imports, {module: list(names) for module, names in table.items()}
    raise AssertionError(f"{path} has no `if typing.TYPE_CHECKING:` block")


def _imported_by(code: str) -> set[str]:
    """The modules imported after running ``code`` in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return set(result.stdout.split())


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_lazy_package_declares_the_same_names_to_type_checkers_and_at_run_time(
    package: str,
) -> None:
    imports, table = _lazy_declarations(package)

    assert table == imports
    assert sorted(name for names in table.values() for name in names) == sorted(
        _module(package).__all__
    )


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_lazy_name_is_the_object_its_module_defines(package: str) -> None:
    _, table = _lazy_declarations(package)
    lazy = _module(package)

    different = [
        f"{module}.{name}"
        for module, names in table.items()
        for name in names
        if getattr(lazy, name) is not getattr(_module(module), name)
    ]

    assert different == []


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_a_resolved_name_is_kept_in_the_package(package: str) -> None:
    lazy = _module(package)

    for name in lazy.__all__:
        getattr(lazy, name)

    assert set(lazy.__all__) <= set(vars(lazy))


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_an_unknown_name_raises_attribute_error(package: str) -> None:
    lazy = _module(package)

    with pytest.raises(AttributeError, match=f"^module '{package}' has no attribute 'Nope'$"):
        lazy.Nope  # noqa: B018

    assert not hasattr(lazy, "Nope")


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_dir_lists_the_public_names(package: str) -> None:
    listed = dir(_module(package))

    assert set(_module(package).__all__) <= set(listed)
    assert {"__name__", "__all__"} <= set(listed)
    assert listed == sorted(listed)


def test_dir_of_facta_lists_its_version() -> None:
    assert "__version__" in dir(facta)


def test_the_top_level_names_are_those_of_the_layers() -> None:
    assert facta.AggregateRoot is facta.domain.AggregateRoot
    assert facta.Command is facta.application.Command
    assert facta.InMemoryPersistence is facta.persistence.InMemoryPersistence
    assert facta.ApplicationBuilder is facta.hosting.ApplicationBuilder
    assert facta.OutboxRelay is facta.integration.OutboxRelay
    assert facta.DomainError is facta.errors.DomainError


def test_a_star_import_gives_every_public_name() -> None:
    namespace: dict[str, object] = {}

    exec("from facta import *", namespace)

    assert {name: namespace[name] for name in facta.__all__} == {
        name: getattr(facta, name) for name in facta.__all__
    }


class Placed(facta.DomainEvent):
    """An event whose class the test below pickles by reference."""

    order_id: str


def test_an_event_of_a_lazily_imported_class_pickles_and_compares() -> None:
    event = Placed(order_id="o-1")

    copy = pickle.loads(pickle.dumps(event))

    assert copy == event
    assert isinstance(copy, facta.DomainEvent)
    assert isinstance(copy, facta.domain.events.DomainEvent)


HEAVY = {"cloudevents", "sqlalchemy", "fastapi", "injector", "pymongo", "aio_pika"}
"""Dependencies that the domain model and the messages never need."""


def test_import_facta_imports_none_of_facta_s_layers_nor_pydantic() -> None:
    imported = _imported_by("import facta")

    assert {m for m in imported if m.startswith("facta.")} == {"facta._lazy"}
    assert {m.split(".")[0] for m in imported} & {"pydantic", *HEAVY} == set()


def test_the_domain_kernel_imports_the_domain_layer_only() -> None:
    imported = _imported_by("from facta import AggregateRoot, DomainEvent, Entity, ValueObject")

    facta_packages = {m.rsplit(".", 1)[0] for m in imported if m.startswith("facta.")}
    assert facta_packages <= {"facta", "facta.domain"}
    assert {m.split(".")[0] for m in imported} & HEAVY == set()


def test_messages_and_handlers_import_no_persistence_hosting_or_injector() -> None:
    imported = _imported_by(
        "from facta import AggregateRoot, DomainEvent, Command, CommandHandler, Query"
    )

    layers = {".".join(m.split(".")[:2]) for m in imported if m.startswith("facta.")}
    assert layers & {"facta.persistence", "facta.hosting", "facta.integration"} == set()
    assert {m.split(".")[0] for m in imported} & HEAVY == set()


def test_facta_help_imports_neither_the_application_nor_pydantic() -> None:
    imported = _imported_by(
        "import contextlib, io\n"
        "from facta.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['--help']) == 0"
    )

    layers = {".".join(m.split(".")[:2]) for m in imported if m.startswith("facta.")}
    assert layers & {"facta.domain", "facta.application", "facta.persistence"} == set()
    assert {m.split(".")[0] for m in imported} & {"pydantic", "asyncio", *HEAVY} == set()
