"""Finding the application a command works on, and letting go of it afterwards.

``--app MODULE:FACTORY`` (or the ``FACTA_APP`` environment variable) names a callable,
sync or async, that returns a ``facta.Application`` or an ``ApplicationBuilder`` (which
is built here); a module-level application or builder is accepted too. The application's
back-end decides where the outbox is, so the commands need nothing else to find it.

Everything the application caused to be created (a SQLAlchemy engine and its pool) is
disposed of when the command ends, and database errors are turned into one line that
names the database.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facta.cli.errors import Failure, UsageError
from facta.errors import FactaError, PersistenceError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from facta.hosting import Application

__all__ = [
    "APP_ENV",
    "AppSpec",
    "database_name",
    "describe_failure",
    "dispose",
    "first_line",
    "load_application",
    "open_application",
    "parse_app_spec",
]

APP_ENV = "FACTA_APP"
"""The environment variable that gives ``--app`` its default."""

_EXAMPLE = "e.g. --app myservice.main:create_app"


@dataclass(frozen=True, slots=True)
class AppSpec:
    """A parsed ``MODULE:FACTORY``: a module to import and a (dotted) attribute of it."""

    module: str
    attribute: str

    def __str__(self) -> str:
        return f"{self.module}:{self.attribute}"


def parse_app_spec(value: str | None) -> AppSpec:
    """Read ``MODULE:FACTORY``; a missing or malformed value is a usage error."""
    if not value:
        raise UsageError(
            f"no application given: pass --app MODULE:FACTORY or set {APP_ENV} ({_EXAMPLE})"
        )
    module, colon, attribute = value.partition(":")
    names = [*module.split("."), *attribute.split(".")]
    if not colon or not all(name.isidentifier() for name in names):
        raise UsageError(f"--app {value!r} is not MODULE:FACTORY ({_EXAMPLE})")
    return AppSpec(module, attribute)


async def load_application(value: str | None) -> Application:
    """Import the factory that ``value`` names, call it, and build what it returns.

    The current directory is searched first, as ``python -m`` would, so that a project's
    own modules are found when ``facta`` runs from the project's root.
    """
    from facta.hosting import Application, ApplicationBuilder  # imported here: --help starts fast

    spec = parse_app_spec(value)
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    target = _resolve(spec)
    if isinstance(target, Application | ApplicationBuilder):
        produced: object = target
    elif callable(target):
        try:
            inspect.signature(target).bind()
        except TypeError:
            raise UsageError(
                f"--app {spec}: the factory must be callable without arguments"
            ) from None
        except ValueError:  # no signature to inspect (a builtin): just try it
            pass
        try:
            produced = target()
            if inspect.isawaitable(produced):
                produced = await produced
        except Exception as error:
            raise Failure(f"--app {spec}: the factory raised {_error_text(error)}") from error
    else:
        raise UsageError(
            f"--app {spec} is a {type(target).__name__}, not a factory: it must name a "
            f"callable that returns a facta.Application or ApplicationBuilder"
        )
    if isinstance(produced, ApplicationBuilder):
        try:
            produced = produced.build()
        except Exception as error:
            raise Failure(
                f"--app {spec}: building the application failed: {_error_text(error)}"
            ) from error
    if not isinstance(produced, Application):
        raise UsageError(
            f"--app {spec} returned a {type(produced).__name__}; it must return a "
            f"facta.Application or ApplicationBuilder"
        )
    return produced


def _resolve(spec: AppSpec) -> object:
    try:
        module = importlib.import_module(spec.module)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if spec.module == missing or spec.module.startswith(missing + "."):
            raise UsageError(
                f"--app {spec}: no module named {missing!r} (run facta from your project's "
                f"root, or add it to PYTHONPATH)"
            ) from None
        raise Failure(f"--app {spec}: importing {spec.module} failed: {error}") from error
    except Exception as error:
        raise Failure(
            f"--app {spec}: importing {spec.module} raised {_error_text(error)}"
        ) from error
    target: object = module
    for name in spec.attribute.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise UsageError(
                f"--app {spec}: module {spec.module!r} has no attribute {spec.attribute!r}"
            ) from None
    return target


@asynccontextmanager
async def open_application(value: str | None) -> AsyncIterator[Application]:
    """The application ``value`` names, disposed of afterwards; database errors made readable.

    An error that the block raises while talking to the database becomes a ``Failure``
    of one line that names the database, instead of a driver's traceback.
    """
    threads = set(threading.enumerate())
    app = await load_application(value)
    failed = False
    try:
        yield app
    except Exception as error:
        if not isinstance(error, FactaError | OSError) and not _is_database_error(error):
            raise
        failed = True
        raise Failure(describe_failure(error, app)) from error
    finally:
        await dispose(app)
        if failed:
            await _settle(threads)


async def _settle(known: set[threading.Thread], timeout: float = 1.0) -> None:
    """Let the driver threads of a failed connection finish before the event loop closes.

    A connection that failed to open may still be handing its outcome back to the loop
    from its thread (aiosqlite does); closing the loop first makes that thread fail
    noisily on the way out. Waits at most ``timeout``, and only after a failure; pool
    workers (the loop's executor) are left to ``asyncio.run``, which shuts them down.
    """
    import asyncio  # loaded by then (the command runs in it); --help does without

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        thread.is_alive() and not thread.name.startswith(_POOL_THREADS)
        for thread in threading.enumerate()
        if thread not in known
    ):
        await asyncio.sleep(0.01)


_POOL_THREADS = ("asyncio_", "ThreadPoolExecutor")


def describe_failure(error: BaseException, app: Application) -> str:
    """One line for an error met while working on ``app``'s outbox, naming its database."""
    where = database_name(app)
    place = f"the database {where}" if where else "the application's outbox"
    if isinstance(error, PersistenceError) and error.__cause__ is not None:
        error = error.__cause__  # the back-end's translation: report the driver's reason
    if isinstance(error, FactaError):
        return f"{place}: {first_line(str(error))}"
    if isinstance(error, OSError):
        return f"cannot reach {place}: {_error_text(error)}"
    original = getattr(error, "orig", None)
    text = first_line(str(original if original is not None else error))
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return (
            f"facta's tables are missing in {place} ({text}): create them with "
            f"facta.persistence.sqlalchemy.create_schema(engine) or your migrations"
        )
    return f"{place} failed: {text}"


def _is_database_error(error: BaseException) -> bool:
    """Whether ``error`` comes from SQLAlchemy (imported only if the application did)."""
    if "sqlalchemy" not in sys.modules:
        return False
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(error, SQLAlchemyError)


def _engine(app: Application) -> AsyncEngine | None:
    """The application's SQLAlchemy engine, if it has one; never creates one."""
    if "sqlalchemy.ext.asyncio" not in sys.modules:
        return None  # the application did not use SQLAlchemy
    from sqlalchemy.ext.asyncio import AsyncEngine

    if not app.container.binder.has_explicit_binding_for(AsyncEngine):
        return None
    return app.get(AsyncEngine)


def database_name(app: Application) -> str | None:
    """The application's database URL without its password, when it has a SQL one."""
    engine = _engine(app)
    return None if engine is None else engine.url.render_as_string(hide_password=True)


async def dispose(app: Application) -> None:
    """Close the connection pool of the application's SQLAlchemy engine, if it has one."""
    engine = _engine(app)
    if engine is not None:
        with suppress(Exception):  # the command's own outcome matters more than this
            await engine.dispose()


def first_line(text: str) -> str:
    """The first non-empty line of ``text`` (error messages can run over many)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _error_text(error: BaseException) -> str:
    message = first_line(str(error))
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
