"""The delivery service's queries: the open deliveries, and one delivery.

Both are answered from the delivery board (``delivery.board``), the read model that the
deliveries' events keep up to date, never by loading aggregates.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy.ext.asyncio import AsyncEngine

from delivery.board import DeliveryBoard, DeliveryView
from facta import Query, QueryHandler

__all__ = ["GetDelivery", "GetDeliveryHandler", "OpenDeliveries", "OpenDeliveriesHandler"]


class OpenDeliveries(Query[list[DeliveryView]]):
    """The deliveries still to make, the oldest order first: a driver's list."""


class GetDelivery(Query[DeliveryView | None]):
    """The delivery of one order, planned or delivered; None if none is known."""

    order_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class OpenDeliveriesHandler(QueryHandler[OpenDeliveries, list[DeliveryView]]):
    """Answers ``OpenDeliveries`` from the board."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._board = DeliveryBoard(engine)

    async def handle(self, query: OpenDeliveries) -> list[DeliveryView]:
        return await self._board.open_deliveries()


class GetDeliveryHandler(QueryHandler[GetDelivery, DeliveryView | None]):
    """Answers ``GetDelivery`` from the board."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._board = DeliveryBoard(engine)

    async def handle(self, query: GetDelivery) -> DeliveryView | None:
        return await self._board.delivery(query.order_id)
