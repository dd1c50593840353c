"""How the ``facta`` command fails: an exit code and one line that says what to do.

```
CommandError      a command cannot go on; main() prints its message and exits with its code
├── UsageError    the command line is wrong (exit 2): a bad flag value, a bad --app
└── Failure       the command was right but the work failed (exit 1): a database is down
```

These never leave ``facta.cli.main.main``: it turns them into exit codes.
"""

from __future__ import annotations

__all__ = ["EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "CommandError", "Failure", "UsageError"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A command cannot go on; ``exit_code`` is what the process exits with."""

    exit_code = EXIT_FAILURE


class UsageError(CommandError):
    """The command line is wrong: fix the flags or the ``--app`` value."""

    exit_code = EXIT_USAGE


class Failure(CommandError):
    """The command was well formed but failed while it ran (a database down, say)."""

    exit_code = EXIT_FAILURE
