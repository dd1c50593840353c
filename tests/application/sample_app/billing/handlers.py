"""A handler in a subpackage of the sample application."""

from __future__ import annotations

from application.sample_app.messages import MemberRegistered
from facta import DomainEventHandler


class WelcomeInvoice(DomainEventHandler[MemberRegistered]):
    async def handle(self, event: MemberRegistered) -> None:
        return None
