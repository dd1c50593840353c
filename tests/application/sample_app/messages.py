"""The commands, queries and events of the sample application."""

from __future__ import annotations

from typing import ClassVar

from facta import Command, DomainEvent, Query


class RegisterMember(Command[str]):
    name: str


class CountMembers(Query[int]):
    pass


class MemberEvent(DomainEvent):
    """Base of the member events."""

    member_id: str


class MemberRegistered(MemberEvent):
    name: str


class MemberRenamed(MemberEvent):
    event_type: ClassVar[str] = "members.MemberRenamed.v1"

    name: str
