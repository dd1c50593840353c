from __future__ import annotations

from typing import ClassVar

from facta import DomainEvent


class BasketItemAdded(DomainEvent):
    event_type: ClassVar[str] = "ItemAdded"

    sku: str
