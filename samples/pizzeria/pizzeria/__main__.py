"""``python -m pizzeria``: the pizzeria as a web service, or a scripted day on stdout.

::

    python -m pizzeria                       # = serve: http://127.0.0.1:8000, ./pizzeria.db
    python -m pizzeria serve --port 9000     # PIZZERIA_HOST, PIZZERIA_PORT work too
    PIZZERIA_DATABASE_URL=postgresql://... python -m pizzeria serve
    python -m pizzeria serve --in-memory     # nothing kept after it stops

    python -m pizzeria day                   # the scripted day on a new SQLite file
    python -m pizzeria day --database-url sqlite:///day.db   # that (empty) database
    python -m pizzeria day --in-memory       # no database at all
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from facta import ConfigurationError
from pizzeria.settings import DATABASE_URL_VARIABLE, PizzeriaSettings

__all__ = ["main"]

_COMMANDS = ("serve", "day")
_SERVE_SETTINGS = """\
settings (environment variables):
  PIZZERIA_DATABASE_URL   the database (default: sqlite:///pizzeria.db)
  PIZZERIA_HOST           the address to listen on (default: 127.0.0.1)
  PIZZERIA_PORT           the port (default: 8000)
  PIZZERIA_MANAGER_TOKEN  the manager's bearer token (default: manager-dev-token)
  PIZZERIA_STAFF_TOKEN    the staff's bearer token (default: staff-dev-token)
  PIZZERIA_BROKER_URL     RabbitMQ to publish integration events to, e.g.
                          amqp://guest:guest@127.0.0.1/ (default: none, not published)
  PIZZERIA_EXCHANGE       the exchange they are published to (default: facta.events)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pizzeria",
        description="Mario's Pizzeria: the web service (the default) or a scripted day.",
    )
    commands = parser.add_subparsers(dest="command", metavar="{serve,day}")
    serve = commands.add_parser(
        "serve",
        help="serve the HTTP API and the live kitchen board (the default)",
        epilog=_SERVE_SETTINGS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="the address to listen on (default: $PIZZERIA_HOST)")
    serve.add_argument("--port", type=int, help="the port (default: $PIZZERIA_PORT, else 8000)")
    serve.add_argument("--log-level", default="info", help="uvicorn's log level (info)")
    _where(
        serve,
        f"the database to serve (default: ${DATABASE_URL_VARIABLE}, else sqlite:///pizzeria.db)",
    )
    day = commands.add_parser("day", help="play a scripted day, every command and event traced")
    _where(
        day,
        f"an empty database to play the day on (default: ${DATABASE_URL_VARIABLE}, else a new "
        f"SQLite file in a temporary folder)",
    )
    return parser


def _where(parser: argparse.ArgumentParser, help_text: str) -> None:
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", metavar="URL", help=help_text)
    where.add_argument("--in-memory", action="store_true", help="keep nothing on disk")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not arguments or arguments[0] not in (*_COMMANDS, "-h", "--help"):
        arguments.insert(0, "serve")
    parsed = _parser().parse_args(arguments)
    try:
        settings = PizzeriaSettings.from_env(
            database_url=parsed.database_url,
            **({"host": parsed.host, "port": parsed.port} if parsed.command == "serve" else {}),
        )
    except ConfigurationError as error:
        print(f"python -m pizzeria: {error}", file=sys.stderr)
        return 2
    if parsed.command == "day":
        from pizzeria.day import run_day

        return asyncio.run(run_day(database_url=settings.database_url, in_memory=parsed.in_memory))
    return _serve(settings, in_memory=parsed.in_memory, log_level=parsed.log_level)


def _serve(settings: PizzeriaSettings, *, in_memory: bool, log_level: str) -> int:
    try:
        from pizzeria.web.server import DEFAULT_DATABASE_URL, serve
    except ConfigurationError as missing:  # facta[web] is not installed
        print(f"python -m pizzeria serve: {missing}", file=sys.stderr)
        return 2
    if in_memory:
        settings = settings.model_copy(update={"database_url": None})
    elif settings.database_url is None:
        settings = settings.model_copy(update={"database_url": DEFAULT_DATABASE_URL})
    # uvicorn shuts down cleanly on SIGINT and SIGTERM, then raises the signal again: a
    # SIGTERM then ends the program like Ctrl+C does, with "closed" and exit code 0
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve(settings, log_level=log_level)
    except KeyboardInterrupt:  # uvicorn raises Ctrl+C again once it has shut down cleanly
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    print("Mario's Pizzeria is closed.")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
