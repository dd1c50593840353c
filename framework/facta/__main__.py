"""``python -m facta``: the same as the ``facta`` command."""

from facta.cli.main import main

raise SystemExit(main())
