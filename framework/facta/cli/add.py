"""``facta add aggregate|command|query|event|projection NAME``: grow a project made by
``facta new``.

Each kind writes new files only, in the layer it belongs to, with a test beside the
example's: an aggregate (``domain/``), a command or a query with its handler
(``application/``), a domain event (``domain/``) with a handler of it (``application/``),
a projection and the view it keeps (``application/``) from an event of the project
(``--on EVENT``).
What it writes passes ``ruff`` and ``mypy --strict`` as it is, and its test passes; the
TODO is in the docstrings, and each message has one placeholder field,
``todo_replace_me``, to replace with its own. It never overwrites a file, refuses a name
that is already a class of the project (two messages of one name would be confused), and
warns when an event's name is not in the past tense (``CustomerRegistered``) or a
command's is (``RegisterCustomer``, not ``CustomerRegistered``).
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import re
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from facta.cli.errors import EXIT_OK, UsageError
from facta.cli.output import echo, note

__all__ = [
    "KINDS",
    "Addition",
    "class_name",
    "in_past_tense",
    "module_name",
    "plan",
    "register",
    "tense_warning",
]

KINDS = ("aggregate", "command", "query", "event", "projection")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "add"
ANSWERS_FILE = ".copier-answers.yml"
LINE_LENGTH = 100
MAX_NAME = 30

NAME_RULE = (
    f"a class name in PascalCase (RegisterCustomer) or in snake or kebab case "
    f"(register-customer), of letters and digits, at most {MAX_NAME} characters"
)
_PASCAL = re.compile(r"[A-Z][A-Za-z0-9]*")
_SNAKE = re.compile(r"[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*")
_TAKEN = frozenset(
    {"AggregateRoot", "Application", "ApplicationScenario", "BaseModel", "Command"}
    | {"CommandHandler", "ConfigDict", "DomainEvent", "DomainEventHandler", "Field"}
    | {"Query", "QueryHandler", "UnitOfWork"}
)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``facta add``."""
    add = commands.add_parser(
        "add",
        help="add an aggregate, command, query, event or projection (and its test)",
        description="Add files to a project made by `facta new`, with their tests: an "
        "aggregate (domain/NAME.py), a command or a query with its handler "
        "(application/NAME.py), a domain event (domain/NAME.py) with a handler of it "
        "(application/on_NAME.py), or a projection with the view it keeps "
        "(application/NAME.py) from the event --on names. Existing files are never "
        "overwritten.",
    )
    add.add_argument("kind", choices=KINDS, metavar="{" + ",".join(KINDS) + "}")
    add.add_argument("name", metavar="NAME", help=f"the class's name: {NAME_RULE}")
    add.add_argument(
        "--on",
        metavar="EVENT",
        help="for a projection: the domain event class of the project it applies "
        "(TicketOpened); add a method per further event afterwards",
    )
    add.add_argument(
        "--project", default=".", metavar="PATH", help="the project (default: the one here)"
    )
    add.add_argument("--traceback", action="store_true", help="on an error, show its traceback")
    add.set_defaults(run=_add)


@dataclass(frozen=True)
class Addition:
    """One file ``facta add`` writes: where, and what."""

    path: Path
    text: str


def class_name(name: str) -> str:
    """``name`` as a class name (``register-customer`` is RegisterCustomer); a usage
    error if it cannot be one."""
    if _SNAKE.fullmatch(name):
        name = "".join(part.capitalize() for part in re.split(r"[-_]", name))
    elif not _PASCAL.fullmatch(name):
        raise UsageError(f"{name!r} cannot name a class: use {NAME_RULE}")
    if len(name) > MAX_NAME:
        raise UsageError(f"{name!r} has {len(name)} characters: use {NAME_RULE}")
    if keyword.iskeyword(name) or name in _TAKEN:
        raise UsageError(f"{name!r} is taken (by Python or by facta): choose another name")
    return name


_IRREGULAR_PAST = frozenset(
    "Begun Bought Brought Built Caught Chosen Done Drawn Driven Eaten Fallen Found Given Gone "
    "Got Grown Heard Held Hidden Hung Kept Known Laid Led Left Lent Lost Made Met Paid Put "
    "Quit Read Rebuilt Rewritten Run Sent Set Shown Shut Sold Spent Split Stolen Struck Taken "
    "Thrown Told Undone Won Written".split()
)
_NOT_PAST = frozenset({"Bed", "Breed", "Embed", "Feed", "Need", "Red", "Seed", "Shed", "Speed"})


def in_past_tense(name: str) -> bool:
    """True when the class name ``name`` ends with a verb in the past tense
    (``OrderPlaced``, ``PizzaBaked``, ``InvoiceSent``): how events are named."""
    words = re.findall(r"[A-Z][a-z0-9]*|[0-9]+", name)
    last = words[-1] if words else name
    if last in _NOT_PAST:
        return False
    return last in _IRREGULAR_PAST or (last.endswith("ed") and len(last) > 3)


def tense_warning(kind: str, name: str) -> str | None:
    """What is odd about ``name`` for a ``kind`` (an event not in the past tense, a
    command in it), or None."""
    if kind == "event" and not in_past_tense(name):
        return (
            f"warning: {name} is not in the past tense; an event says what happened "
            f"(OrderPlaced, PizzaBaked), so that its handlers read as reactions"
        )
    if kind == "command" and in_past_tense(name):
        return (
            f"warning: {name} reads as something that happened; a command asks for "
            f"something, in the imperative (PlaceOrder, not OrderPlaced)"
        )
    return None


def module_name(name: str) -> str:
    """The module of a class (``GetHTTPStatus`` lives in ``get_http_status``)."""
    words = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", words).lower()


def plan(kind: str, name: str, package: Path, on: str | None = None) -> list[Addition]:
    """The files that ``facta add KIND NAME`` writes for the package at ``package``
    (``src/<package>``); its tests go to ``tests/`` beside ``src/``. A projection applies
    the event class ``on``, found in the package's ``domain``."""
    name = class_name(name)
    module = module_name(name)
    tests = package.parent.parent / "tests"
    names = {
        "name": name,
        "module": module,
        "package": package.name,
        "words": module.replace("_", " "),
        "sentence": module.replace("_", " ").capitalize(),
        "handler": f"{name}Handler",
    }
    domain, application = f"{package.name}.domain", f"{package.name}.application"
    test = f"test_{module}"
    if kind == "aggregate":
        created, renamed = f"{name}Created", f"{name}Renamed"
        names.update(created=created, renamed=renamed, all=_all([name, created, renamed]))
        test_names = {**names, "imports": _import(f"{domain}.{module}", [name, created, renamed])}
        return [
            _render("aggregate", package / "domain" / module, names),
            _render("aggregate_test", tests / test, test_names),
        ]
    if kind == "command":
        names["all"] = _all([name, names["handler"]])
        names["handler_class"] = _class(names["handler"], f"CommandHandler[{name}, None]")
        test_names = {**names, "imports": _import(f"{application}.{module}", [name])}
        return [
            _render("command", package / "application" / module, names),
            _render("command_test", tests / test, test_names),
        ]
    if kind == "query":
        view = _view_name(name)
        names.update(view=view, all=_all([name, names["handler"], view]))
        names["handler_class"] = _class(names["handler"], f"QueryHandler[{name}, {view}]")
        names["handle_def"] = _def("handle", ["self", f"query: {name}"], view, indent=4)
        test_names = {**names, "imports": _import(f"{application}.{module}", [name, view])}
        return [
            _render("query", package / "application" / module, names),
            _render("query_test", tests / test, test_names),
        ]
    if kind == "projection":
        return _projection(name, module, package, tests, names, on)
    handler = f"On{name}"
    names.update(handler=handler, all=_all([name]))
    handler_names = {
        **names,
        "all": _all([handler]),
        "imports": _import(f"{domain}.{module}", [name]),
    }
    imports = [
        _import(f"{application}.on_{module}", [handler]),
        _import(f"{domain}.{module}", [name]),
    ]
    return [
        _render("event", package / "domain" / module, names),
        _render("event_handler", package / "application" / f"on_{module}", handler_names),
        _render("event_test", tests / test, {**names, "imports": "\n".join(imports)}),
    ]


def _projection(
    name: str, module: str, package: Path, tests: Path, names: dict[str, str], on: str | None
) -> list[Addition]:
    if not on:
        raise UsageError(
            "a projection applies events: name one with --on EVENT (a DomainEvent class of "
            "the project, e.g. --on TicketOpened)"
        )
    event = class_name(on)
    event_module = _event_module(event, package)
    view = name if name.endswith("View") else f"{name}View"
    if view == name:
        name = name.removesuffix("View") or name
    application = f"{package.name}.application.{module}"
    names.update(
        name=name,
        view=view,
        event=event,
        method=module_name(event),
        method_def=_def(module_name(event), ["self", f"event: {event}"], "None", indent=4),
        all=_all([name, view]),
        imports=_import(event_module, [event]),
    )
    names["arguments"] = _example_arguments(package, event_module, event)
    test_imports = [_import(application, [name, view]), _import(event_module, [event])]
    return [
        _render("projection", package / "application" / module, names),
        _render(
            "projection_test",
            tests / f"test_{module}",
            {**names, "imports": "\n".join(sorted(test_imports, key=lambda line: line.split()[1]))},
        ),
    ]


_EXAMPLES: dict[type, str] = {str: '"TODO"', int: "1", float: "1.0", bool: "True"}


def _example_arguments(package: Path, module: str, event: str) -> str:
    """Keyword arguments that build the event in a test: its id on the aggregate
    ``the-id``, and an example value for each required field of a simple type (the
    project's code is imported to read them; a field of another type is left for you)."""
    arguments = ['aggregate_id="the-id"', "aggregate_version=1"]
    sys.path.insert(0, str(package.parent))
    try:
        event_type = getattr(importlib.import_module(module), event, None)
    except Exception:  # a project that does not import: its own tests will say why
        event_type = None
    finally:
        sys.path.remove(str(package.parent))
    fields = getattr(event_type, "model_fields", {})
    for field_name, info in fields.items():
        if not info.is_required():
            continue
        annotation = typing.get_origin(info.annotation) or info.annotation
        if typing.get_origin(info.annotation) is typing.Annotated:
            annotation = typing.get_args(info.annotation)[0]
        example = _EXAMPLES.get(annotation) if isinstance(annotation, type) else None
        arguments.append(f"{field_name}={example or '...'}")  # ...: yours to give
    return "".join(f"        {argument},\n" for argument in arguments).rstrip("\n")


def _event_module(event: str, package: Path) -> str:
    """The module of the package's ``domain`` that defines the event class ``event``."""
    pattern = re.compile(rf"^class {re.escape(event)}\(", re.M)
    for path in sorted((package / "domain").rglob("*.py")):
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            relative = path.relative_to(package.parent).with_suffix("")
            return ".".join(relative.parts)
    raise UsageError(
        f"no class {event} in {package.name}/domain: name an event the project defines "
        f"(add one with `facta add event NAME`)"
    )


def _render(template: str, path: Path, names: dict[str, str]) -> Addition:
    text = Template((TEMPLATES / f"{template}.py.tmpl").read_text(encoding="utf-8"))
    return Addition(path.with_suffix(".py"), text.substitute(names))


def _view_name(name: str) -> str:
    for verb in ("Get", "Find", "List", "Search", "Show"):
        rest = name.removeprefix(verb)
        if rest != name and _PASCAL.fullmatch(rest):
            return f"{rest}View"
    return f"{name}View"


def _member_key(name: str) -> tuple[int, str, str]:
    """How isort (and ruff) order imported names: constants, classes, then the rest."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def _all(names: Sequence[str]) -> str:
    items = [f'"{name}"' for name in sorted(names, key=_member_key)]
    line = f"__all__ = [{', '.join(items)}]"
    if len(line) <= LINE_LENGTH:
        return line
    return "__all__ = [\n" + "".join(f"    {item},\n" for item in items) + "]"


def _import(module: str, names: Sequence[str]) -> str:
    members = sorted(names, key=_member_key)
    line = f"from {module} import {', '.join(members)}"
    if len(line) <= LINE_LENGTH:
        return line
    return f"from {module} import (\n" + "".join(f"    {name},\n" for name in members) + ")"


def _class(name: str, base: str) -> str:
    line = f"class {name}({base}):"
    return line if len(line) <= LINE_LENGTH else f"class {name}(\n    {base},\n):"


def _def(name: str, parameters: Sequence[str], returns: str, *, indent: int) -> str:
    pad = " " * indent
    line = f"{pad}async def {name}({', '.join(parameters)}) -> {returns}:"
    if len(line) <= LINE_LENGTH:
        return line
    body = "".join(f"{pad}    {parameter},\n" for parameter in parameters)
    return f"{pad}async def {name}(\n{body}{pad}) -> {returns}:"


async def _add(args: argparse.Namespace) -> int:
    root = _project_root(Path(args.project))
    package = _package(root)
    additions = plan(args.kind, args.name, package, args.on)
    existing = [addition.path for addition in additions if addition.path.exists()]
    if existing:
        shown = ", ".join(str(path.relative_to(root)) for path in existing)
        verb = "exists" if len(existing) == 1 else "exist"
        raise UsageError(f"{shown} {verb} already: facta add never overwrites a file")
    missing = sorted(
        {str(a.path.parent.relative_to(root)) for a in additions if not a.path.parent.is_dir()}
    )
    if missing:
        raise UsageError(f"the project has no {', '.join(missing)} folder: facta add writes there")
    name = class_name(args.name)
    _refuse_a_taken_name(name, root, package)
    if (warning := tense_warning(args.kind, name)) is not None:
        note(warning)
    for addition in additions:
        addition.path.write_text(addition.text, encoding="utf-8")
        echo(f"created {addition.path.relative_to(root)}")
    echo("./scripts/test checks and tests them")
    return EXIT_OK


def _refuse_a_taken_name(name: str, root: Path, package: Path) -> None:
    """A usage error when a class of the project's package is named ``name`` already."""
    pattern = re.compile(rf"^class {re.escape(name)}\b", re.M)
    for path in sorted(package.rglob("*.py")):
        if pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            raise UsageError(
                f"{name} is already a class of the project, in {path.relative_to(root)}: "
                f"two messages of one name would be confused; choose another name"
            )


def _project_root(start: Path) -> Path:
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / ANSWERS_FILE).is_file() or (folder / "pyproject.toml").is_file():
            if (folder / "src").is_dir():
                return folder
    raise UsageError(
        f"{start} is not in a project made by `facta new` (no {ANSWERS_FILE} or "
        f"pyproject.toml with a src/ folder in it or above it): run facta add in the project"
    )


def _package(root: Path) -> Path:
    """The service's package: the project's name from the answers file, or the one
    package under ``src/``."""
    answers = root / ANSWERS_FILE
    if answers.is_file():
        found = re.search(r"^project_name:\s*['\"]?([a-z0-9-]+)", answers.read_text(), re.M)
        if found is not None:
            package = root / "src" / found[1].replace("-", "_")
            if (package / "__init__.py").is_file():
                return package
    packages = sorted(path.parent for path in (root / "src").glob("*/__init__.py"))
    if len(packages) != 1:
        raise UsageError(
            f"cannot tell the service's package among {len(packages)} in {root / 'src'}"
        )
    return packages[0]
