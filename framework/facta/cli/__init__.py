"""The ``facta`` command line (installed as the ``facta`` console script).

```
facta outbox stats | pending | dead | replay | relay | prune   operate the outbox
```

Commands find the application through ``--app MODULE:FACTORY`` (or ``$FACTA_APP``).
Nothing here imports an optional back-end: the application's own imports decide that.
"""

from facta.cli.main import main

__all__ = ["main"]
