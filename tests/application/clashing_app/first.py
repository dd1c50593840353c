from __future__ import annotations

from facta import DomainEvent


class ItemAdded(DomainEvent):
    sku: str
