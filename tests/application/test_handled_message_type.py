"""handled_message_type: what a handler class handles, read from its generic base."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import pytest

from facta import (
    Command,
    CommandHandler,
    ConfigurationError,
    DomainEvent,
    DomainEventHandler,
    Query,
    QueryHandler,
)
from facta.application import handled_message_type

C = TypeVar("C", bound=Command[Any])
R = TypeVar("R")
E = TypeVar("E", bound=DomainEvent)


class ShipParcel(Command[None]):
    parcel_id: str


class FindParcel(Query[str]):
    parcel_id: str


class ParcelShipped(DomainEvent):
    parcel_id: str


class ShipParcelHandler(CommandHandler[ShipParcel, None]):
    async def handle(self, command: ShipParcel) -> None:
        return None


class FindParcelHandler(QueryHandler[FindParcel, str]):
    async def handle(self, query: FindParcel) -> str:
        return query.parcel_id


class ParcelTracker(DomainEventHandler[ParcelShipped]):
    async def handle(self, event: ParcelShipped) -> None:
        return None


class ExpressShipParcelHandler(ShipParcelHandler):
    """Inherits its message type from a concrete handler."""


class AuditedCommandHandler(CommandHandler[C, R]):
    """An abstract generic base: concrete handlers name the command when subclassing."""


class AuditedShipParcelHandler(AuditedCommandHandler[ShipParcel, None]):
    async def handle(self, command: ShipParcel) -> None:
        return None


class Projection(DomainEventHandler[E], Generic[E]):
    """An abstract generic event handler base, re-declaring Generic explicitly."""


class ParcelProjection(Projection[ParcelShipped]):
    async def handle(self, event: ParcelShipped) -> None:
        return None


class Untyped(CommandHandler):  # type: ignore[type-arg]
    async def handle(self, command: Any) -> None:
        return None


class StillGeneric(CommandHandler[C, R]):
    async def handle(self, command: C) -> R:
        raise NotImplementedError


class ForwardReferenced(CommandHandler["ShipParcel", None]):
    async def handle(self, command: ShipParcel) -> None:
        return None


class NotAHandler:
    pass


@pytest.mark.parametrize(
    ("handler_type", "message_type"),
    [
        pytest.param(ShipParcelHandler, ShipParcel, id="command-handler"),
        pytest.param(FindParcelHandler, FindParcel, id="query-handler"),
        pytest.param(ParcelTracker, ParcelShipped, id="event-handler"),
        pytest.param(ExpressShipParcelHandler, ShipParcel, id="subclass-of-a-concrete-handler"),
    ],
)
def test_the_handled_message_type_is_read_from_the_generic_base(
    handler_type: type[object], message_type: type[object]
) -> None:
    assert handled_message_type(handler_type) is message_type


@pytest.mark.parametrize(
    ("handler_type", "message_type"),
    [
        pytest.param(AuditedShipParcelHandler, ShipParcel, id="command-through-generic-base"),
        pytest.param(ParcelProjection, ParcelShipped, id="event-through-generic-base"),
    ],
)
def test_the_handled_message_type_is_read_through_an_intermediate_generic_base(
    handler_type: type[object], message_type: type[object]
) -> None:
    assert handled_message_type(handler_type) is message_type


@pytest.mark.parametrize(
    "handler_type",
    [
        pytest.param(Untyped, id="no-type-arguments"),
        pytest.param(StillGeneric, id="only-type-variables"),
        pytest.param(ForwardReferenced, id="string-forward-reference"),
        pytest.param(NotAHandler, id="not-a-handler"),
    ],
)
def test_a_handler_that_does_not_name_a_concrete_message_class_is_a_configuration_error(
    handler_type: type[object],
) -> None:
    with pytest.raises(ConfigurationError, match=r"does not say what it handles") as caught:
        handled_message_type(handler_type)

    assert handler_type.__qualname__ in str(caught.value)
