"""The ``facta`` command: parse the command line, run one command, turn errors into exit codes.

Exit codes: 0 when the command did its work, 1 when it failed while running (a database
out of reach, a factory that raised), 2 when the command line is wrong (a bad flag, a bad
``--app``), 130 when interrupted. Errors are one line on stderr; ``--traceback`` shows
the full story. Each command group lives in a module of its own and adds itself here.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from facta import __version__
from facta.cli import add, describe, events, new, outbox, projections
from facta.cli.errors import EXIT_FAILURE, EXIT_USAGE, CommandError
from facta.cli.loading import APP_ENV, first_line

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ``facta [--version] GROUP COMMAND [options]``."""
    parser = argparse.ArgumentParser(
        prog="facta",
        description="Start facta services and operate facta applications from the command line.",
        epilog=f"Commands that work on an application take --app MODULE:FACTORY "
        f"(default: ${APP_ENV}).",
    )
    parser.add_argument("--version", action="version", version=f"facta {__version__}")
    parser.set_defaults(run=None, parser=parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--app",
        default=os.environ.get(APP_ENV),
        metavar="MODULE:FACTORY",
        help=f"the callable that returns your facta.Application or ApplicationBuilder, "
        f"sync or async (default: ${APP_ENV})",
    )
    common.add_argument(
        "--traceback", action="store_true", help="on an error, show its full traceback"
    )
    new.register(commands, common)
    add.register(commands, common)
    describe.register(commands, common)
    outbox.register(commands, common)
    projections.register(commands, common)
    events.register(commands, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``facta`` with ``argv`` (the process's arguments by default); return the exit code.

    The console script calls it and exits with what it returns; tests call it directly.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # argparse has printed its usage error, or --help
        return exit.code if isinstance(exit.code, int) else EXIT_USAGE
    if args.run is None:  # a group without its command: show what there is
        args.parser.print_help(sys.stderr)
        return EXIT_USAGE
    import asyncio  # here, not at the top: --help and usage errors start faster without it

    show_traceback: bool = getattr(args, "traceback", False)
    with _log_to_stderr(show_traceback):
        try:
            code: int = asyncio.run(args.run(args))
        except CommandError as error:
            _report(error, str(error), show_traceback)
            return error.exit_code
        except KeyboardInterrupt:
            print("facta: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader went away (``facta ... | head``): not an error
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")
            return EXIT_OK
        except Exception as error:
            message = f"unexpected {type(error).__name__}: {first_line(str(error))}"
            if not show_traceback:
                message += " (--traceback shows where)"
            _report(error, message, show_traceback)
            return EXIT_FAILURE
    return code


def _report(error: BaseException, message: str, show_traceback: bool) -> None:
    if show_traceback:
        traceback.print_exception(error, file=sys.stderr)
    print(f"facta: error: {message}", file=sys.stderr)


class _StderrHandler(logging.Handler):
    """facta's warnings and errors on stderr, one line each (unless tracebacks are wanted).

    It stands back when the application configured logging itself (the root logger has
    handlers), so nothing is printed twice; on a terminal it clears a progress bar's line
    first, and the bar redraws itself on its next step.
    """

    def __init__(self, tracebacks: bool) -> None:
        super().__init__(logging.WARNING)
        self._tracebacks = tracebacks

    def emit(self, record: logging.LogRecord) -> None:
        if logging.getLogger().handlers:
            return
        try:
            message = f"{record.levelname.lower()}: {record.getMessage()}"
            error = record.exc_info[1] if record.exc_info else None
            if error is not None and self._tracebacks:
                message += "\n" + "".join(traceback.format_exception(error)).rstrip()
            elif error is not None:
                message += f": {type(error).__name__}: {first_line(str(error))}"
            stream = sys.stderr
            stream.write(("\r\x1b[K" if stream.isatty() else "") + message + "\n")
            stream.flush()
        except Exception:
            self.handleError(record)


@contextmanager
def _log_to_stderr(tracebacks: bool) -> Iterator[None]:
    logger = logging.getLogger("facta")
    handler = _StderrHandler(tracebacks)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
