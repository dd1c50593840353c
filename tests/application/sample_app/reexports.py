"""A module that imports a handler defined elsewhere: it must not be registered twice."""

from __future__ import annotations

from application.sample_app.handlers import CountMembersHandler, RegisterMemberHandler

__all__ = ["CountMembersHandler", "RegisterMemberHandler"]
