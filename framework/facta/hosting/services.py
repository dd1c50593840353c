"""Background services: work an application runs beside its handlers (relays, consumers)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["BackgroundService"]


@runtime_checkable
class BackgroundService(Protocol):
    """Something the application starts with it and stops with it, in reverse order."""

    async def start(self) -> None:
        """Begin working; return once started."""

    async def stop(self) -> None:
        """Stop working and release resources; return once stopped."""
