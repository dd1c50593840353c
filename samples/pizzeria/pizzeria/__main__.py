"""``python -m pizzeria``: a scripted day at Mario's Pizzeria, traced on stdout."""

from __future__ import annotations

import asyncio

from pizzeria.day import run_day

__all__ = ["main"]


def main() -> int:
    """Run the scripted day and return its exit code."""
    return asyncio.run(run_day())


if __name__ == "__main__":
    raise SystemExit(main())
