"""An abstract base handler shared by concrete handlers: never registered itself."""

from __future__ import annotations

from abc import abstractmethod

from application.sample_app.messages import MemberEvent
from facta import DomainEventHandler


class MemberProjection(DomainEventHandler[MemberEvent]):
    """Shared plumbing of the member projections; subclasses say how to apply an event."""

    async def handle(self, event: MemberEvent) -> None:
        self.apply(event)

    @abstractmethod
    def apply(self, event: MemberEvent) -> None:
        """Apply ``event`` to the projection."""
