"""Background services: work an application runs beside its handlers (relays, consumers)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import injector

__all__ = ["BackgroundService", "ProvidesServices"]


@runtime_checkable
class BackgroundService(Protocol):
    """Something the application starts with it and stops with it, in reverse order."""

    async def start(self) -> None:
        """Begin working; return once started."""

    async def stop(self) -> None:
        """Stop working and release resources; return once stopped."""


@runtime_checkable
class ProvidesServices(Protocol):
    """A module (a persistence back-end, say) with services to run beside the application.

    ``ApplicationBuilder`` asks its persistence module and every added module for them,
    so that, for example, a back-end that created a database engine disposes of it when
    the application stops.
    """

    def services(self, container: injector.Injector) -> list[BackgroundService]:
        """The services to start with the application and stop with it."""
