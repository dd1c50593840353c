"""``facta new`` and ``facta update``: start a service from facta's template, keep it current.

The template ships inside facta (``facta/templates/service``) and is rendered with copier.
For copier to update a project later it needs the template's versions in git, so facta
keeps a small git repository of them, ``~/.cache/facta/templates/service`` (or
``$FACTA_TEMPLATE_REPOSITORY``): each facta version commits its template there, tagged
``v<version>``, before it generates or updates a project. The project's
``.copier-answers.yml`` records that repository and tag, so that ``facta update`` (or
``copier update``) can render the old version, see what the project changed since, and
carry those changes over onto the new version. A version missing from the repository (a
project generated on another machine) is fetched from facta's wheel on the package index.
"""

from __future__ import annotations

import argparse
import importlib
import keyword
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from facta import __version__
from facta.cli.errors import EXIT_FAILURE, EXIT_OK, Failure, UsageError
from facta.cli.installation import facta_requirement, facta_source
from facta.cli.output import echo, note
from facta.cli.template_repository import EXECUTABLE, TemplateRepository, git, version_of

__all__ = [
    "ANSWERS_FILE",
    "TEMPLATE",
    "facta_requirement",
    "find_project",
    "project_name_problem",
    "read_answers",
    "register",
    "update_project",
]

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "service"
"""The template shipped with this facta (its ``copier.yml`` and ``project/`` folder)."""

ANSWERS_FILE = ".copier-answers.yml"

PERSISTENCE = ("sqlite", "postgresql", "mongodb")
BROKERS = ("none", "rabbitmq")
NAME_RULE = (
    "a lowercase slug: letters, digits and single hyphens, starting with a letter, "
    "at most 30 characters (e.g. order-service)"
)
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_SHADOWED = frozenset(
    {"facta", "tests", "test", "src", "copier", "fastapi", "httpx", "injector", "pydantic"}
    | {"pymongo", "pytest", "sqlalchemy", "starlette", "uvicorn", "cloudevents", "aio_pika"}
)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``facta new`` and ``facta update``."""
    new = commands.add_parser(
        "new",
        help="generate a new service from facta's template",
        description="Generate a new facta service: the layered layout (domain, application, "
        "integration, api), an example aggregate with its commands, query, events, event "
        "handler and contract, their tests, and scripts to run and test it. Questions not "
        "answered by flags are asked on a terminal; with an answer's flag, --defaults or no "
        "terminal, they take their defaults.",
    )
    new.add_argument("name", metavar="NAME", help=f"the service's name: {NAME_RULE}")
    new.add_argument("--persistence", choices=PERSISTENCE, help="where data is kept (sqlite)")
    web = new.add_mutually_exclusive_group()
    web.add_argument("--web", action="store_true", default=None, help="an HTTP API (the default)")
    web.add_argument("--no-web", dest="web", action="store_false", help="no HTTP API")
    new.add_argument("--broker", choices=BROKERS, help="publish integration events to (none)")
    new.add_argument("--description", metavar="TEXT", help="one line: what the service does")
    new.add_argument(
        "--facta-version",
        metavar="SPEC",
        help="the facta the service installs: a version range (>=0.1.0,<0.2) or a direct "
        "reference (@ file:///path/to/facta); by default, the facta running this command: "
        "its checkout or wheel when installed from one, else this minor version",
    )
    new.add_argument(
        "--directory", metavar="PATH", help="a new or empty folder to generate it in (./NAME)"
    )
    new.add_argument("--defaults", action="store_true", help="ask nothing: take the defaults")
    new.add_argument("--no-git", action="store_true", help="do not `git init` the project")
    new.add_argument("--traceback", action="store_true", help="on an error, show its traceback")
    new.set_defaults(run=_new)

    update = commands.add_parser(
        "update",
        help="bring a generated project up to date with this facta's template",
        description="Update a project made by `facta new` to the template of the installed "
        "facta, keeping your changes: copier renders the project's template version, sees "
        "what you changed since, and carries that over onto the new version. The project "
        "must be in git with nothing uncommitted; review the result with `git diff`.",
    )
    update.add_argument(
        "path", nargs="?", default=".", metavar="PATH", help="the project (default: here)"
    )
    update.add_argument("--traceback", action="store_true", help="on an error, show its traceback")
    update.set_defaults(run=_update)


def project_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a project, or None if it can."""
    if len(name) > 30:
        return f"it has {len(name)} characters"
    if not _NAME.fullmatch(name):
        return "it has other characters, or does not start with a letter"
    package = name.replace("-", "_")
    if keyword.iskeyword(package):
        return f"its package, {package}, would be a Python keyword"
    if package in sys.stdlib_module_names:
        return f"its package would hide Python's standard module {package}"
    if package in _SHADOWED:
        return f"its package would hide the module {package}, which the service needs"
    return None


def _description_problem(text: str) -> str | None:
    if not text.strip():
        return "it is empty"
    if any(character in text for character in '"\\\n\r'):
        return "it has a double quote, a backslash or a line break"
    return None


async def _new(args: argparse.Namespace) -> int:
    problem = project_name_problem(args.name)
    if problem is not None:
        raise UsageError(f"{args.name!r} cannot name a project ({problem}): use {NAME_RULE}")
    if args.description is not None and (problem := _description_problem(args.description)):
        raise UsageError(f"--description: {problem}; give one line of plain text")
    target = Path(args.directory) if args.directory else Path.cwd() / args.name
    _refuse_to_overwrite(target)
    copier = _copier()
    _require_git()
    data: dict[str, object] = {
        "project_name": args.name,
        "facta_version": args.facta_version or facta_source().requirement,
    }
    given = {
        "persistence": args.persistence,
        "web": args.web,
        "broker": args.broker,
        "description": args.description,
    }
    data.update({key: value for key, value in given.items() if value is not None})
    answered = len(data) > 2 or args.facta_version is not None
    ask = not (args.defaults or answered) and sys.stdin.isatty()
    repository = TemplateRepository.default()
    tag = repository.publish(TEMPLATE, __version__)

    def render() -> None:
        copier.run_copy(
            repository.location,
            str(target),
            data=data,
            vcs_ref=tag,
            defaults=not ask,
            quiet=True,
            unsafe=False,
        )

    import asyncio  # loaded by then (the command runs in it); --help does without

    try:
        await asyncio.to_thread(render)
    except Exception as error:
        failure = _copier_failure(error, "generating the project")
        if failure is error:
            raise
        raise failure from error
    _make_executable(target)
    initialised = not args.no_git and _git_init(target)
    answers = read_answers(target)
    echo(f"created {target} from facta {__version__}'s template: {_summary(answers)}")
    if initialised:
        echo("  a git repository too: commit it before `facta update`")
    where = os.path.relpath(target)
    echo(f"next:\n  cd {where}\n  ./scripts/test    # lint, type-check and test it")
    echo("  ./scripts/run     # run it (both create .venv on first use)")
    return EXIT_OK


def _refuse_to_overwrite(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a folder: choose another NAME or --directory")
    if target.is_dir():
        entries = sorted(entry.name for entry in target.iterdir())
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise UsageError(
                f"{target} is not empty ({shown}): facta new never overwrites files; choose "
                f"another NAME or --directory, or empty the folder"
            )


def _summary(answers: Mapping[str, Any]) -> str:
    persistence = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mongodb": "MongoDB"}
    parts = [
        persistence.get(str(answers.get("persistence")), str(answers.get("persistence"))),
        "an HTTP API" if answers.get("web") else "no HTTP API",
        "RabbitMQ" if answers.get("broker") == "rabbitmq" else "no broker",
    ]
    return ", ".join(parts)


async def _update(args: argparse.Namespace) -> int:
    import asyncio

    project = find_project(Path(args.path))
    return await asyncio.to_thread(update_project, project)


def update_project(project: Path, *, template: Path = TEMPLATE, version: str = __version__) -> int:
    """Update ``project`` to ``template`` as facta ``version``'s; answer the exit code.

    ``template`` and ``version`` are this facta's; tests give another to update to.
    """
    copier = _copier()
    _require_git()
    _require_clean_git(project)
    answers = read_answers(project)
    source, old = answers.get("_src_path"), answers.get("_commit")
    if not isinstance(source, str) or not isinstance(old, str):
        raise UsageError(
            f"{project / ANSWERS_FILE} names no template version (_src_path, _commit): "
            f"the project cannot be updated"
        )
    shown = os.path.relpath(project)
    vcs_ref: str | None = None
    data: dict[str, object] = {}
    if _is_local(source):
        repository = TemplateRepository(source)
        vcs_ref = repository.publish(template, version)
        if not repository.has(old):
            repository.recover(old)
        if vcs_ref == old:
            echo(f"{shown} is up to date with facta {version}'s template ({old})")
            return EXIT_OK
        if _newer(old, vcs_ref):
            raise Failure(
                f"{project} was made from a newer template ({old}) than this facta's "
                f"({vcs_ref}): install a newer facta to update it"
            )
        if answers.get("facta_version") == facta_requirement(version_of(old) or ""):
            data["facta_version"] = facta_requirement(version)
    try:
        copier.run_update(
            str(project),
            data=data,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            skip_answered=True,
            quiet=True,
            unsafe=False,
        )
    except Exception as error:
        failure = _copier_failure(error, "updating the project")
        if failure is error:
            raise
        raise failure from error
    new = read_answers(project).get("_commit", vcs_ref)
    conflicts = git(project, "diff", "--name-only", "--diff-filter=U").split()
    if conflicts:
        note(
            f"updated {shown} from {old} to {new} with conflicts in: {', '.join(conflicts)}; "
            f"resolve them (look for the <<<<<<< markers), then commit"
        )
        return EXIT_FAILURE
    echo(f"updated {shown} from template {old} to {new}: review it with `git diff`, commit it")
    return EXIT_OK


def _newer(tag: str, than: str) -> bool:
    version = importlib.import_module("packaging.version")  # copier's dependency
    try:
        return bool(version.Version(tag.lstrip("v")) > version.Version(than.lstrip("v")))
    except version.InvalidVersion:
        return False


def find_project(start: Path) -> Path:
    """The generated project at or above ``start`` (the folder with the answers file)."""
    start = start.resolve()
    if not start.is_dir():
        raise UsageError(f"{start} is not a folder")
    for folder in (start, *start.parents):
        if (folder / ANSWERS_FILE).is_file():
            return folder
    raise UsageError(
        f"{start} is not in a project made by `facta new` (no {ANSWERS_FILE} in it or above it)"
    )


def read_answers(project: Path) -> dict[str, Any]:
    """The answers copier recorded in the project's ``.copier-answers.yml``."""
    yaml = importlib.import_module("yaml")  # copier's dependency
    try:
        loaded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise UsageError(f"{project / ANSWERS_FILE} cannot be read: {error}") from None
    if not isinstance(loaded, dict):
        raise UsageError(f"{project / ANSWERS_FILE} is not a mapping of answers")
    return {str(key): value for key, value in loaded.items()}


def _copier() -> ModuleType:
    try:
        return importlib.import_module("copier")
    except ImportError:
        raise Failure(
            "facta new and facta update need copier: install it with "
            "`pip install 'copier>=9.4,<10'` (facta's `new` extra)"
        ) from None


def _copier_failure(error: Exception, doing: str) -> BaseException:
    """What to raise for an error of copier's: a one-line ``Failure`` for its own."""
    errors = importlib.import_module("copier.errors")
    if isinstance(error, KeyboardInterrupt | errors.CopierAnswersInterrupt):
        return KeyboardInterrupt()
    if isinstance(error, errors.CopierError | ValueError | subprocess.CalledProcessError):
        return Failure(f"{doing} failed: {str(error).strip() or type(error).__name__}")
    return error


def _require_git() -> None:
    if shutil.which("git") is None:
        raise Failure("git is not installed: copier keeps the template's versions in git")


def _require_clean_git(project: Path) -> None:
    inside = subprocess.run(
        ["git", "-C", str(project), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        raise UsageError(
            f"{project} is not in git: facta update merges the template's changes with yours "
            f"through git. Run `git init && git add -A && git commit -m 'facta new'` there first"
        )
    try:
        git(project, "rev-parse", "--verify", "--quiet", "HEAD")
    except Failure:
        raise UsageError(f"{project} has no commit yet: commit the project first") from None
    dirty = git(project, "status", "--porcelain", "--untracked-files=all", ".").splitlines()
    if dirty:
        files = ", ".join(line[3:] for line in dirty[:3]) + (", ..." if len(dirty) > 3 else "")
        raise UsageError(
            f"{project} has uncommitted changes ({files}): commit or stash them first, so "
            f"that the update shows as a diff of its own"
        )


def _git_init(target: Path) -> bool:
    inside = subprocess.run(
        ["git", "-C", str(target), "rev-parse", "--is-inside-work-tree"],
        capture_output=True,
        check=False,
    )
    if inside.returncode == 0:
        return False  # already in a repository (a monorepo): leave it to its owner
    git(target, "init", "--quiet")
    return True


def _make_executable(folder: Path) -> None:
    for name in EXECUTABLE:
        path = folder / name
        if path.is_file():
            path.chmod(path.stat().st_mode | 0o111)


def _is_local(source: str) -> bool:
    return not re.match(r"^(?:[a-z][a-z0-9+.-]*://|git@|gh:|gl:|git\+)", source)
