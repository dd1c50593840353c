"""Integration contracts: what a service publishes to others, and what it accepts from them.

An ``IntegrationEvent`` is the stable, documented data of one versioned CloudEvent type
(``com.mariospizzeria.order.placed.v1``): a pydantic model whose JSON schema is the
contract, kept apart from the domain event so that the domain can change without breaking
consumers. An ``EventContract`` maps a domain event to it; an ``IntegrationEventHandler``
receives it on the consuming side; an ``Upcaster`` turns an older version's data into the
next one. All of them are discovered by scanning, like handlers.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from facta.application.upcasting import DataUpcaster
from facta.domain import DomainEvent
from facta.errors import ConfigurationError

__all__ = [
    "Envelope",
    "EventContract",
    "IntegrationEvent",
    "IntegrationEventHandler",
    "Upcaster",
    "type_version",
]

E = TypeVar("E", bound=DomainEvent)
I = TypeVar("I", bound="IntegrationEvent")  # noqa: E741

_TYPE_PATTERN = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*\.v(?P<version>[1-9][0-9]*)$")


def type_version(cloudevent_type: str) -> int:
    """The version number at the end of a CloudEvent type (``...placed.v2`` is 2)."""
    match = _TYPE_PATTERN.match(cloudevent_type)
    if match is None:
        raise ConfigurationError(
            f"{cloudevent_type!r} is not a versioned CloudEvent type: use reverse-DNS "
            f"lowercase names ending in the version, like 'com.example.order.placed.v1'"
        )
    return int(match["version"])


class IntegrationEvent(BaseModel):
    """The data of one versioned CloudEvent type: the contract between two services.

    Subclass it per type and version and set ``cloudevent_type``; a new version is a new
    class (``OrderPlacedV2``), published beside the old one for as long as consumers need
    it. Unknown fields are ignored when reading, so a producer may add optional fields
    without breaking anyone. ``json_schema()`` is the documented contract.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    cloudevent_type: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.cloudevent_type:
            type_version(cls.cloudevent_type)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON schema of this contract, with its CloudEvent type as the title."""
        schema = cls.model_json_schema()
        schema["title"] = cls.cloudevent_type or cls.__name__
        return schema


@dataclass(frozen=True, slots=True)
class Envelope:
    """The CloudEvent attributes an integration event arrived with."""

    id: str
    source: str
    type: str
    subject: str | None = None
    time: datetime | None = None
    dataschema: str | None = None
    extensions: Mapping[str, object] = field(default_factory=dict)

    @property
    def correlation_id(self) -> str | None:
        """The ``correlationid`` extension, when the producer set one."""
        value = self.extensions.get("correlationid")
        return None if value is None else str(value)


class EventContract(ABC, Generic[E, I]):
    """Publishes a domain event as a versioned CloudEvent: ``map`` builds its data.

    Declare one per published type, e.g.
    ``class OrderPlacedV1Contract(EventContract[OrderPlaced, OrderPlacedV1])`` with
    ``source = "/mariospizzeria/orders"``. Two contracts for one domain event publish
    both versions side by side.
    """

    source: ClassVar[str]

    @abstractmethod
    def map(self, event: E) -> I:
        """The integration data for ``event``."""


class IntegrationEventHandler(ABC, Generic[I]):
    """Handles the data of one CloudEvent type from another service, validated and typed.

    It runs in its own unit of work with an inbox: a CloudEvent whose ``source`` and
    ``id`` this handler already processed is acknowledged and not run again.
    """

    @abstractmethod
    async def handle(self, data: I, envelope: Envelope) -> None:
        """React to one integration event."""


class Upcaster(DataUpcaster):
    """Turns the data of an older CloudEvent type into the data of a newer one.

    Set ``source_type`` (the old type) and ``target`` (the newer contract class); facta
    chains upcasters until it reaches a type this service handles.
    """

    source_type: ClassVar[str]
    target: ClassVar[type[IntegrationEvent]]

    @abstractmethod
    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        """The newer version's data for ``data`` of ``source_type``."""
