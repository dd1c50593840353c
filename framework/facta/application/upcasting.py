"""Upcasting: turning data written by an older release into the shape the code reads now.

Two kinds of data outlive the code that wrote them: integration events from other
services (a CloudEvent type ``...placed.v1`` read as ``...placed.v2``: see ``Upcaster``)
and the domain events kept in event-sourced aggregates' streams (an ``OrderPlaced`` of
``event_version`` 1 read as version 2: see ``EventUpcaster``). Both are one step of a
chain: ``upcast`` takes one version's data as a dict and returns the next version's;
facta chains the steps until it reaches the version the code declares.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from facta.errors import ConfigurationError

__all__ = ["DataUpcaster", "EventUpcaster"]


class DataUpcaster(ABC):
    """One step of an upcasting chain: one version's data in, the next version's out."""

    @abstractmethod
    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        """The next version's data for ``data``."""


class EventUpcaster(DataUpcaster):
    """Reads a stored domain event of an older shape as the next version of its class.

    Set ``event_type`` (the stored name, ``"OrderPlaced"``) and ``from_version`` (the
    version it reads); ``upcast`` gets the stored event's fields (its metadata included)
    and returns them as version ``from_version + 1`` has them. Declare one upcaster per
    step; the event class says which version is current with
    ``event_version: ClassVar[int] = 3``. Upcasters are discovered by scanning, like
    handlers, and are used wherever stored events are read (loading an event-sourced
    aggregate, the event store's read API, the ``facta events`` command).
    """

    event_type: ClassVar[str]
    from_version: ClassVar[int]

    @classmethod
    def key(cls) -> tuple[str, int]:
        """``(event_type, from_version)``, checked: what this upcaster reads."""
        event_type = getattr(cls, "event_type", "")
        from_version = getattr(cls, "from_version", 0)
        if not event_type or not isinstance(from_version, int) or from_version < 1:
            raise ConfigurationError(
                f"{cls.__qualname__} must set event_type (the stored event type name) and "
                f"from_version (an int >= 1, the version it reads)"
            )
        return event_type, from_version
