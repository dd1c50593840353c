"""The ``facta`` command line (installed as the ``facta`` console script).

```
facta new NAME [--persistence ... --web/--no-web --broker ...]   generate a service
facta update [PATH]                                              bring it up to date
facta add aggregate | command | query | event NAME               add to a generated service
facta describe --app M:F [--format text | mermaid | markdown]    the message flow
facta outbox stats | pending | dead | replay | relay | prune     operate the outbox
facta events show AGGREGATE ID [--at TIME | --version N]         an aggregate's history
```

Commands find the application through ``--app MODULE:FACTORY`` (or ``$FACTA_APP``).
Nothing here imports an optional back-end: the application's own imports decide that.
"""

from facta.cli.main import main

__all__ = ["main"]
