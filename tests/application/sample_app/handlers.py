"""The concrete handlers of the sample application."""

from __future__ import annotations

from application.sample_app.bases import MemberProjection
from application.sample_app.messages import (
    CountMembers,
    MemberEvent,
    RegisterMember,
)
from facta import CommandHandler, DomainEventHandler, QueryHandler


class RegisterMemberHandler(CommandHandler[RegisterMember, str]):
    async def handle(self, command: RegisterMember) -> str:
        return f"member:{command.name}"


class CountMembersHandler(QueryHandler[CountMembers, int]):
    async def handle(self, query: CountMembers) -> int:
        return 0


class MemberDirectory(MemberProjection):
    def apply(self, event: MemberEvent) -> None:
        return None


class MemberActivityLog(DomainEventHandler[MemberEvent]):
    async def handle(self, event: MemberEvent) -> None:
        return None
