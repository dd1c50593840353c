"""Event-sourced aggregates: the recorded events are the state, and replaying them rebuilds it.

An ``EventSourcedAggregate`` changes its fields only inside its *apply methods*: one
method per event type, named ``apply_<anything>``, whose one parameter is annotated with
the event class. ``record`` applies the event and keeps it as uncommitted; loading replays
the stream (after the latest snapshot, if the type takes them). Assigning a field anywhere
else raises ``ConfigurationError``, so the state can never drift from the events.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Self, TypeVar

from facta.domain.aggregate import AggregateRoot, history_of
from facta.domain.events import DomainEvent
from facta.errors import ConfigurationError, PersistenceError

__all__ = ["EventSourcedAggregate", "event_schema_version"]

E = TypeVar("E", bound=DomainEvent)
Applier = Callable[["EventSourcedAggregate", DomainEvent], None]
"""An apply method, called with the aggregate and the event."""

_APPLYING = "_facta_applying"


def event_schema_version(event_type: type[DomainEvent]) -> int:
    """The shape version of an event class: its ``event_version`` class attribute, or 1.

    Stored events keep the version of the class that wrote them; an ``EventUpcaster``
    turns an older version's data into the next one's when it is read.
    """
    version = getattr(event_type, "event_version", 1)
    if not isinstance(version, int) or version < 1:
        raise ConfigurationError(
            f"{event_type.__qualname__}.event_version must be an int >= 1, not {version!r}"
        )
    return version


class EventSourcedAggregate(AggregateRoot):
    """An aggregate root whose state is the sum of its events.

    Give every field a default (the state before the first event), write one
    ``apply_...(self, event: SomeEvent)`` method per event type that sets the fields, and
    change the aggregate only by ``record``-ing events: ``record`` applies the event at
    once and keeps it for the unit of work, which appends it to the aggregate's stream
    with the expected version (and to the outbox, for the handlers, as for any aggregate).

    ``snapshot_every = N`` stores a snapshot of the state every N events, with the stream;
    loading then starts from the latest snapshot. A snapshot is tied to the shape of the
    state (a fingerprint of its JSON schema and ``snapshot_version``): change the fields,
    or bump ``snapshot_version`` when their meaning changes, and older snapshots are
    ignored, the stream replayed instead.

    ``version`` is the number of events in the stream.
    """

    snapshot_every: ClassVar[int | None] = None
    snapshot_version: ClassVar[int] = 1
    _facta_event_sourced: ClassVar[bool] = True
    _facta_appliers: ClassVar[dict[type[DomainEvent], Applier] | None] = None
    _facta_schema: ClassVar[str | None] = None
    _facta_names: ClassVar[dict[str, type[DomainEvent]] | None] = None

    def __setattr__(self, name: str, value: Any) -> None:
        private = self.__pydantic_private__
        if private is None or not private.get(_APPLYING):
            raise ConfigurationError(
                f"{type(self).__name__}.{name} was assigned outside an apply method: the "
                f"state of an event-sourced aggregate changes only by recording an event "
                f"whose apply_... method sets it"
            )
        super().__setattr__(name, value)

    def record(self, event: E) -> E:
        """Apply ``event`` to this aggregate and keep it as uncommitted; return it stamped.

        If the apply method raises, the event is not recorded.
        """
        stamped = super().record(event)
        try:
            self._apply(stamped)
        except BaseException:
            history = history_of(self)
            history.records.pop()
            raise
        return stamped

    def _apply(self, event: DomainEvent) -> None:
        applier = type(self).appliers().get(type(event))
        if applier is None:
            raise ConfigurationError(
                f"{type(self).__name__} has no apply method for {type(event).__name__}: add "
                f"`def apply_...(self, event: {type(event).__name__}) -> None`"
            )
        history_of(self)  # makes sure the private slot exists
        private = self.__pydantic_private__
        assert private is not None
        private[_APPLYING] = True
        try:
            applier(self, event)
        finally:
            private[_APPLYING] = False

    @classmethod
    def appliers(cls) -> Mapping[type[DomainEvent], Applier]:
        """Each event class this aggregate applies, with its apply method.

        Discovered once, from the ``apply_...`` methods' annotations; a misdeclared type
        raises ``ConfigurationError`` (the application builder calls this at ``build()``).
        """
        found = cls.__dict__.get("_facta_appliers")
        if found is None:
            found = _discover(cls)
            cls._facta_appliers = found
        return found

    @classmethod
    def event_class(cls, event_type: str) -> type[DomainEvent] | None:
        """The event class this aggregate applies that is stored as ``event_type``."""
        names = cls.__dict__.get("_facta_names")
        if names is None:
            names = cls._facta_names = {klass.event_type: klass for klass in cls.appliers()}
        return names.get(event_type)

    @classmethod
    def state_schema(cls) -> str:
        """A fingerprint of the state's shape, stored with each snapshot.

        It changes when a field is added, removed or retyped, or ``snapshot_version``
        changes; a snapshot whose fingerprint differs is ignored, never misread.
        """
        found = cls.__dict__.get("_facta_schema")
        if found is None:
            shape = cls.model_json_schema()
            shape.pop("title", None)  # the class's name: renaming it changes no shape
            schema = json.dumps(shape, sort_keys=True)
            digest = hashlib.sha256(f"{cls.snapshot_version}:{schema}".encode()).hexdigest()
            found = cls._facta_schema = f"v{cls.snapshot_version}-{digest[:16]}"
        return found

    @classmethod
    def from_events(
        cls,
        aggregate_id: str,
        events: Iterable[DomainEvent],
        *,
        snapshot: tuple[str | bytes | Mapping[str, Any], int] | None = None,
    ) -> Self:
        """The aggregate rebuilt from its events, after a snapshot ``(state, version)``
        (the state as JSON text or as a mapping of its fields).

        Each event must follow the one before it (versions without gaps); a gap raises
        ``PersistenceError``, since the state it produced would be wrong.
        """
        if snapshot is None:
            aggregate = cls(id=aggregate_id)
        elif isinstance(snapshot[0], str | bytes):
            aggregate = cls.restore_json(snapshot[0], snapshot[1])
        else:
            aggregate = cls.restore(snapshot[0], snapshot[1])
        history = history_of(aggregate)
        appliers = cls.appliers()
        private = aggregate.__pydantic_private__
        assert private is not None
        private[_APPLYING] = True  # once for the whole replay: it is the hot path of loading
        try:
            for event in events:
                if event.aggregate_version != history.version + 1:
                    raise PersistenceError(
                        f"the stream of {cls.aggregate_type} {aggregate_id!r} has event "
                        f"version {event.aggregate_version} after {history.version}: it "
                        f"cannot be replayed"
                    )
                applier = appliers.get(type(event))
                if applier is None:
                    aggregate._apply(event)  # raises, naming the apply method to add
                else:
                    applier(aggregate, event)
                history.version = event.aggregate_version
        finally:
            private[_APPLYING] = False
        return aggregate


def _discover(cls: type[EventSourcedAggregate]) -> dict[type[DomainEvent], Applier]:
    every = {
        name: member
        for klass in reversed(cls.__mro__)
        for name, member in vars(klass).items()
        if name.startswith("apply_") and callable(member)
    }
    appliers: dict[type[DomainEvent], Applier] = {}
    owners: dict[type[DomainEvent], str] = {}
    for name, method in every.items():
        event_type = _event_parameter(cls, name, method)
        if event_type in appliers:
            raise ConfigurationError(
                f"{cls.__name__} has two apply methods for {event_type.__name__}: "
                f"{owners[event_type]} and {name}; keep one"
            )
        appliers[event_type] = method
        owners[event_type] = name
    for field_name, field in cls.model_fields.items():
        if field_name != "id" and field.is_required():
            raise ConfigurationError(
                f"{cls.__name__}.{field_name} has no default: an event-sourced aggregate "
                f"starts from its defaults and its events set the rest"
            )
    every_n = cls.snapshot_every
    if every_n is not None and (not isinstance(every_n, int) or every_n < 1):
        raise ConfigurationError(
            f"{cls.__name__}.snapshot_every must be None or an int >= 1, not {every_n!r}"
        )
    return appliers


def _event_parameter(cls: type, name: str, method: Callable[..., Any]) -> type[DomainEvent]:
    try:
        hints = typing.get_type_hints(method)
    except Exception as error:
        raise ConfigurationError(
            f"the annotations of {cls.__name__}.{name} cannot be resolved: {error}"
        ) from error
    parameters = list(inspect.signature(method).parameters)[1:]  # after self
    event_type = hints.get(parameters[0]) if len(parameters) == 1 else None
    if not (isinstance(event_type, type) and issubclass(event_type, DomainEvent)):
        raise ConfigurationError(
            f"{cls.__name__}.{name} must take exactly one parameter annotated with the "
            f"DomainEvent subclass it applies, e.g. `def {name}(self, event: OrderPlaced)`"
        )
    return event_type
