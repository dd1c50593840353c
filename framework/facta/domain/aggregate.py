"""The aggregate root: the consistency boundary that changes state and records events."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar, Self, TypeVar

from pydantic import BaseModel

from facta.domain.events import DomainEvent, stamped
from facta.domain.ids import random_uuid
from facta.domain.model import Entity
from facta.domain.slots import set_private

__all__ = ["AggregateRoot", "History", "history_of", "new_id", "state_json"]

E = TypeVar("E", bound=DomainEvent)

# Orders events recorded on different aggregates of one unit of work; only the relative
# order matters, so one counter serves every application without coupling them.
_recording_order = itertools.count()


def new_id() -> str:
    """A new random identifier for an aggregate (a UUID4 as text)."""
    return str(random_uuid())


class History:
    """The bookkeeping of an aggregate root, kept in one slot for speed: its version and
    its uncommitted events, each with its number in the order of recording.

    Units of work read it directly (``history_of``) on every commit; application code
    uses ``version``, ``uncommitted_events`` and ``record`` instead."""

    __slots__ = ("records", "version")

    def __init__(self, version: int = 0) -> None:
        self.version = version
        self.records: list[tuple[int, DomainEvent]] = []

    def committed(self, version: int) -> None:
        """Forget the uncommitted events: they were stored, at ``version``."""
        self.records.clear()
        self.version = version


_KEY = "_facta_history"


def history_of(aggregate: AggregateRoot) -> History:
    """The bookkeeping of an aggregate, created on first use.

    It is kept in pydantic's private-attribute slot but is not a declared private
    attribute, so loading an aggregate does not pay pydantic's per-instance set-up.
    """
    private = aggregate.__pydantic_private__
    if private is None:
        history = History()
        set_private(aggregate, {_KEY: history})
        return history
    found: History | None = private.get(_KEY)
    if found is None:
        found = private[_KEY] = History()
    return found


def state_json(aggregate: AggregateRoot) -> str:
    """The aggregate's state as JSON text, as ``model_dump_json()`` returns it.

    Units of work store and compare it on every commit: pydantic's serializer is called
    directly, without the fifteen keyword arguments ``model_dump_json`` passes it (half
    the cost), unless the aggregate's class overrides ``model_dump_json``.
    """
    if aggregate._facta_own_dump:
        return aggregate.model_dump_json()
    return aggregate.__pydantic_serializer__.to_json(aggregate).decode()


class AggregateRoot(Entity):
    """The root of an aggregate: the only object of it that the outside world may hold.

    Declare the state as typed fields, change it only in methods that check the rules,
    and ``record`` a domain event for each change. The root keeps its recorded events as
    *uncommitted*, in order, until a unit of work stores them with the state.

    ``version`` is the version that was last stored; persistence writes only if it is
    still the stored one (optimistic concurrency). Each recorded event takes the next
    version number, so an event's ``aggregate_version`` orders it within its aggregate.

    ``aggregate_type`` names the aggregate in storage; it defaults to the class name.
    """

    aggregate_type: ClassVar[str] = "AggregateRoot"
    _facta_event_sourced: ClassVar[bool] = False  # an attribute: cheaper than isinstance
    _facta_own_dump: ClassVar[bool] = False  # whether the class overrides model_dump_json

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "aggregate_type" not in cls.__dict__:
            cls.aggregate_type = cls.__name__
        cls._facta_own_dump = cls.model_dump_json is not BaseModel.model_dump_json

    def __copy__(self) -> Self:
        clone = super().__copy__()
        history, copied = history_of(self), History()
        copied.version = history.version
        copied.records = list(history.records)
        private = dict(clone.__pydantic_private__ or {})
        private[_KEY] = copied
        set_private(clone, private)
        return clone

    @property
    def version(self) -> int:
        """The version this aggregate had when it was loaded or last committed (0 if new)."""
        return history_of(self).version

    @property
    def uncommitted_events(self) -> tuple[DomainEvent, ...]:
        """The events recorded since the last commit, in the order they were recorded."""
        records = history_of(self).records
        return tuple([event for _, event in records]) if records else ()

    def record(self, event: E) -> E:
        """Record ``event`` as having happened to this aggregate and return it.

        The returned event carries this aggregate's id and the version it produced.
        """
        history = history_of(self)
        aggregate_id = self.id
        version = history.version + len(history.records) + 1
        if type(aggregate_id) is str and DomainEvent in type(event).__mro__:
            recorded = stamped(event, {"aggregate_id": aggregate_id, "aggregate_version": version})
        else:  # say what is wrong (an id set around validation, say)
            recorded = event.with_metadata(aggregate_id=aggregate_id, aggregate_version=version)
        history.records.append((next(_recording_order), recorded))
        return recorded

    def uncommitted_records(self) -> list[tuple[int, DomainEvent]]:
        """The uncommitted events with a number that orders them across aggregates.

        Units of work use it to dispatch the events of several aggregates in the order
        they were recorded.
        """
        return list(history_of(self).records)

    def next_version(self) -> int:
        """The version this aggregate will have once its pending changes are committed."""
        history = history_of(self)
        return history.version + max(1, len(history.records))

    def mark_committed(self, version: int) -> None:
        """Forget the uncommitted events: they were stored, and the aggregate is at ``version``.

        Units of work do this to every aggregate they commit (through its ``History``);
        application code never needs it, a test that stores an aggregate by hand might.
        """
        history_of(self).committed(version)

    def snapshot(self) -> dict[str, Any]:
        """The aggregate's state as JSON-compatible values, without version or events."""
        return self.model_dump(mode="json")

    @classmethod
    def restore(cls, state: Mapping[str, Any], version: int) -> Self:
        """Rebuild an aggregate from a stored ``snapshot()`` at the given ``version``."""
        return _restored(cls.model_validate(state), version)

    @classmethod
    def restore_json(cls, state_json: str | bytes, version: int) -> Self:
        """Rebuild an aggregate from its state as JSON text at the given ``version``."""
        # model_validate_json's own body, without its checks of arguments not given here
        aggregate: Self = cls.__pydantic_validator__.validate_json(state_json)
        return _restored(aggregate, version)


R = TypeVar("R", bound=AggregateRoot)


def _restored(aggregate: R, version: int) -> R:
    """``aggregate``, just validated from its stored state, at ``version``."""
    private = aggregate.__pydantic_private__
    if private is None:  # no private attributes declared: the common case, made directly
        set_private(aggregate, {_KEY: History(version)})
    else:
        history_of(aggregate).version = version
    return aggregate
