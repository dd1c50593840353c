"""The storage side of projections: ordering checks, replay, lag, and view tables.

A back-end implements ``ProjectionStore`` beside its ``Outbox`` (it reads the same
outbox tables). The projection machinery asks it:

- before applying an event, whether an earlier event of the same aggregate that the
  projection handles is still unapplied (``unapplied_predecessor``): the event then waits;
- for a rebuild, the events the projection has applied, in commit order (``history``);
- for ``facta projections status``, how far behind a projection is (``lag``);
- whether it is paused for a rebuild (``state``/``set_state``), and whether the outbox
  was ever pruned (``pruned``), which makes a rebuild impossible;
- to drop a view type's storage and to swap a rebuilt copy in (``drop_views``,
  ``swap_views``).
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from facta.application.ports.outbox import PendingEvent
from facta.application.views import View
from facta.domain import DomainEvent

__all__ = ["ProjectionLag", "ProjectionState", "ProjectionStore", "PruneRecord"]


class ProjectionState(enum.Enum):
    """Whether a projection applies events as they come, or waits for its rebuild."""

    LIVE = "live"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class ProjectionLag:
    """How far behind one asynchronous projection is."""

    pending: int
    oldest: datetime | None
    dead_letters: int


@dataclass(frozen=True, slots=True)
class PruneRecord:
    """That the outbox was pruned: how many events in all, and the last time."""

    events: int
    last_pruned_at: datetime


class ProjectionStore(ABC):
    """What projections need from the storage of one application's database."""

    @abstractmethod
    async def unapplied_predecessor(
        self, event: DomainEvent, handler: str, event_types: Collection[str]
    ) -> UUID | None:
        """The id of an earlier event of ``event``'s aggregate that ``handler`` has not
        applied yet, or None.

        Earlier means a lower ``aggregate_version`` with the same ``aggregate_id``; only
        undelivered outbox events of ``event_types`` count, and applied means ``handler``
        has a ``done`` receipt for it. Events of other aggregate types that share the id
        may make an event wait for them too, which is safe (they never wait in a cycle).
        """

    async def blocker(
        self, event: DomainEvent, handler: str, event_types: Collection[str]
    ) -> UUID | ProjectionState | None:
        """What keeps ``handler`` from applying ``event`` now: ``ProjectionState.PAUSED``,
        the id of an unapplied predecessor, or None. One round trip where a back-end can
        (the default asks ``state`` then ``unapplied_predecessor``)."""
        if await self.state(handler) is ProjectionState.PAUSED:
            return ProjectionState.PAUSED
        return await self.unapplied_predecessor(event, handler, event_types)

    @abstractmethod
    async def history(
        self,
        handler: str,
        event_types: Collection[str],
        after_position: int,
        limit: int,
        *,
        everything: bool,
    ) -> list[PendingEvent]:
        """Events of ``event_types`` after ``after_position``, in commit order, that a
        rebuild of ``handler`` replays.

        With ``everything`` (an inline projection) every such event; otherwise those
        ``handler`` applied (a ``done`` receipt) and those delivered without it ever
        having been asked (committed before the projection existed). ``settled`` of each
        is empty.
        """

    @abstractmethod
    async def lag(self, handler: str, event_types: Collection[str]) -> ProjectionLag:
        """Undelivered events of ``event_types`` that ``handler`` has not settled, the
        oldest one's commit time, and how many it dead-lettered."""

    @abstractmethod
    async def state(self, projection: str) -> ProjectionState:
        """Whether the projection is live (the default) or paused for a rebuild."""

    @abstractmethod
    async def set_state(self, projection: str, state: ProjectionState) -> None:
        """Pause or resume a projection (committed at once)."""

    @abstractmethod
    async def pruned(self) -> PruneRecord | None:
        """Whether the outbox was ever pruned (``Outbox.prune`` records it), or None."""

    @abstractmethod
    async def drop_views(self, view_type: type[View]) -> None:
        """Delete a view type's storage (table, collection) and everything in it."""

    @abstractmethod
    async def swap_views(self, live: type[View], copy: type[View]) -> None:
        """Atomically replace ``live``'s storage by ``copy``'s (which then has no storage
        of its own). ``copy`` is a subclass of ``live`` with another ``view_name``."""


def event_type_names(types: Sequence[type[DomainEvent]]) -> list[str]:
    """The stored names of event classes, for the queries above."""
    return sorted({event_type.event_type for event_type in types})
