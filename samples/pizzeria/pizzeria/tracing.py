"""A pipeline behavior that narrates what an application does, as it happens.

Registered on commands and events, it writes one line for each command sent (and the
handler that runs it), each event committed, and each event handler run, indented by how
far down the chain from the first command it is::

    > StartCooking order_id=1f0c9a2e by=Luigi
      - StartCookingHandler
      * OrderCookingStarted #1f0c9a2e customer_phone=+390815550101 by=Luigi
        - KitchenBoardProjection
      * KitchenSlotTaken #kitchen order_id=1f0c9a2e capacity=3 cooking=[1f0c9a2e]
        - KitchenBoardProjection

An event is shown when its first handler runs: events are dispatched only once committed,
so every event shown was committed. Inline projections run inside the commit, not as
handlers, so they are not shown (nor is an event that only they apply). A UUID is shown
by its last 8 digits (order ids begin with their time, so their first digits repeat).
"""

from __future__ import annotations

import enum
import re
import sys
from collections import OrderedDict
from typing import TextIO
from uuid import UUID

from pydantic import BaseModel

from facta import DomainError, DomainEvent, NextStep, OperationContext, PipelineBehavior
from facta.domain import METADATA_FIELDS

__all__ = ["TracingBehavior", "describe"]

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}([0-9a-f]{8})\b")
_MAX_LINE = 118
_REMEMBERED_EVENTS = 1024


class TracingBehavior(PipelineBehavior):
    """Writes each command, committed event and handler run to ``out`` (stdout by default)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._shown: OrderedDict[UUID, None] = OrderedDict()

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        indent = "  " * context.depth
        if isinstance(message, DomainEvent):
            if message.event_id not in self._shown:
                self._remember(message.event_id)
                self._write(indent, f"* {describe(message)}")
        else:
            self._write(indent, f"> {describe(message)}")
        self._write(indent, f"  - {_short_name(context.handler)}")
        try:
            result = await call_next()
        except Exception as error:
            verdict = "refused" if isinstance(error, DomainError) else "failed"
            self._write(indent, f"  x {verdict}: {type(error).__name__}: {error}", cut=False)
            raise
        if result is not None:
            self._write(indent, f"  = {_value(result)}")
        return result

    def _remember(self, event_id: UUID) -> None:
        self._shown[event_id] = None
        if len(self._shown) > _REMEMBERED_EVENTS:
            self._shown.popitem(last=False)

    def _write(self, indent: str, text: str, *, cut: bool = True) -> None:
        line = _UUID.sub(r"\1", f"{indent}{text}")
        if cut and len(line) > _MAX_LINE:
            line = f"{line[: _MAX_LINE - 3]}..."
        print(line, file=self._out)


def describe(message: object) -> str:
    """A message in one line: its class, the aggregate of an event, its fields.

    Fields that repeat the event's aggregate id are left out; ids are shortened when
    written.
    """
    if not isinstance(message, BaseModel):
        return repr(message)
    parts = [type(message).__name__]
    aggregate_id = message.aggregate_id if isinstance(message, DomainEvent) else None
    if aggregate_id:
        parts.append(f"#{aggregate_id}")
    for name in type(message).model_fields:
        if name in METADATA_FIELDS:
            continue
        value = getattr(message, name)
        if value is None or value == () or value == aggregate_id:
            continue
        parts.append(f"{name}={_value(value)}")
    return " ".join(parts)


def _value(value: object) -> str:
    if isinstance(value, str):
        return value if value and " " not in value else repr(value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, tuple | list):
        return f"[{', '.join(_value(item) for item in value)}]"
    if isinstance(value, BaseModel) and type(value).__str__ is BaseModel.__str__:
        return " ".join(_value(getattr(value, name)) for name in type(value).model_fields)
    return str(value)


def _short_name(handler: str) -> str:
    return handler.rsplit(".", 1)[-1]
