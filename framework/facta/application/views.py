"""Views: the typed documents of the read side, and how they are queried.

A ``View`` is a pydantic model keyed by ``id``. Projections keep views up to date from
domain events; query handlers read them through a view store (``uow.views(MyView)``).
A view declares the fields it is filtered and sorted on in ``indexes``: every back-end
creates a real index for each (a typed column on SQL, an index on MongoDB), and a query on
a field that is not declared is refused everywhere, so what works in memory works on a
database.

Queries are built from plain values (equality) and ``Range``/``OneOf`` conditions::

    await summaries.find({"status": "confirmed", "placed_at": Range(gte=midnight)},
                         order_by="-placed_at", limit=20)
"""

from __future__ import annotations

import enum
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar, Generic, Literal, TypeVar
from uuid import UUID

import pydantic
from pydantic import BaseModel, ConfigDict

from facta.errors import ConfigurationError, InvalidViewQuery

__all__ = [
    "Condition",
    "IndexKind",
    "OneOf",
    "Page",
    "Range",
    "View",
    "ViewQuery",
    "index_kind",
    "normalized_value",
    "rebuild_copy",
]

V = TypeVar("V", bound="View")

IndexKind = Literal["str", "int", "float", "decimal", "bool", "datetime", "date", "uuid"]
"""The scalar kinds an indexed field may have; each back-end maps them to its own types."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_COPY_SUFFIX = "__rebuild"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


class View(BaseModel):
    """A read model document, keyed by ``id``, kept by a projection.

    Declare its fields as on any pydantic model. ``view_name`` names its storage (a table
    ``facta_view_<view_name>``, a collection of that name) and defaults to the class name
    in snake case; ``indexes`` lists the fields queries may filter and sort on. Views are
    plain values: change one (or ``model_copy(update=...)`` it) and ``put`` it back.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    view_name: ClassVar[str] = "view"
    indexes: ClassVar[tuple[str, ...]] = ()

    id: str

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "view_name" not in cls.__dict__:
            cls.view_name = _snake(cls.__name__)
        copy_of = cls.__dict__.get("__facta_copy_of__")
        expected = None if copy_of is None else copy_of.view_name + _COPY_SUFFIX
        if cls.view_name != expected and not _NAME.match(cls.view_name):
            raise ConfigurationError(
                f"{cls.__qualname__}.view_name {cls.view_name!r} is not a storage name: use "
                f"lowercase letters, digits and underscores, at most 40, starting with a letter"
            )
        for name in cls.indexes:
            index_kind(cls, name)  # raises for an unknown field or a type that cannot be indexed


def rebuild_copy(view_type: type[V]) -> type[V]:
    """A subclass of ``view_type`` stored under another name: what a rebuild fills
    before it swaps it in for the live views."""
    namespace = {
        "__module__": view_type.__module__,
        "__qualname__": f"{view_type.__qualname__}Rebuild",
        "__facta_copy_of__": view_type,
        "view_name": view_type.view_name + _COPY_SUFFIX,
    }
    return typing.cast(type[V], type(f"{view_type.__name__}Rebuild", (view_type,), namespace))


_KINDS: tuple[tuple[type, IndexKind], ...] = (
    (bool, "bool"),  # before int: bool is an int
    (int, "int"),
    (float, "float"),
    (Decimal, "decimal"),
    (datetime, "datetime"),  # before date: datetime is a date
    (date, "date"),
    (UUID, "uuid"),
    (str, "str"),
)


def index_kind(view_type: type[View], name: str) -> IndexKind:
    """The scalar kind of an indexed field (``id`` is always ``str``).

    Optional fields and enums (by their values' type) are allowed; a field of any other
    type (a list, a nested model) cannot be indexed and raises ``ConfigurationError``.
    """
    if name == "id":
        return "str"
    info = view_type.model_fields.get(name)
    if info is None:
        raise ConfigurationError(
            f"{view_type.__qualname__}.indexes names {name!r}, which is not one of its fields"
        )
    annotation = info.annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = options[0] if len(options) == 1 else None
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        values = {type(member.value) for member in annotation}
        annotation = values.pop() if len(values) == 1 else None
    for klass, kind in _KINDS:
        if isinstance(annotation, type) and issubclass(annotation, klass):
            return kind
    raise ConfigurationError(
        f"{view_type.__qualname__}.{name} cannot be indexed: an indexed field must be a "
        f"str, int, float, Decimal, bool, datetime, date, UUID or an enum of one of them "
        f"(optional or not)"
    )


@dataclass(frozen=True, slots=True)
class Range:
    """A range condition: any of ``gt``, ``gte``, ``lt``, ``lte`` (None means unbounded)."""

    gt: object = None
    gte: object = None
    lt: object = None
    lte: object = None


@dataclass(frozen=True, slots=True)
class OneOf:
    """A condition that the field equals one of ``values``."""

    values: tuple[object, ...]

    def __init__(self, values: Sequence[object]) -> None:
        object.__setattr__(self, "values", tuple(values))


Operator = Literal["eq", "gt", "gte", "lt", "lte", "in"]


@dataclass(frozen=True, slots=True)
class Condition:
    """One checked condition of a query: a field, an operator, and plain scalar values.

    Values are normalized to the field's ``kind``: enums to their values, datetimes to
    UTC, so every back-end compares the same things.
    """

    field: str
    kind: IndexKind
    operator: Operator
    value: object


@dataclass(frozen=True, slots=True)
class ViewQuery:
    """A checked query of one view type: conditions, sort keys, and a slice.

    Built by ``ViewQuery.build`` from what a caller passed; back-ends translate it. The
    sort always ends with ``id``, so pages are stable however many rows tie.
    """

    view_type: type[View]
    conditions: tuple[Condition, ...] = ()
    order: tuple[tuple[str, bool], ...] = (("id", False),)
    offset: int = 0
    limit: int | None = None

    @classmethod
    def build(
        cls,
        view_type: type[View],
        where: Mapping[str, object] | None = None,
        order_by: str | Sequence[str] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> ViewQuery:
        """Check a query against the view's declared indexes and normalize its values.

        Raises ``InvalidViewQuery`` naming the field for a field that is not declared in
        ``indexes``, a value that does not fit the field's type, or a negative slice.
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise InvalidViewQuery(view_type.view_name, "offset and limit must not be negative")
        conditions: list[Condition] = []
        for name, wanted in (where or {}).items():
            kind = _indexed(view_type, name)
            if isinstance(wanted, Range):
                bounds = (("gt", wanted.gt), ("gte", wanted.gte), ("lt", wanted.lt))
                for operator, bound in (*bounds, ("lte", wanted.lte)):
                    if bound is not None:
                        value = _normalize(view_type, name, kind, bound)
                        conditions.append(Condition(name, kind, operator, value))  # type: ignore[arg-type]
            elif isinstance(wanted, OneOf):
                values = tuple(_normalize(view_type, name, kind, v) for v in wanted.values)
                conditions.append(Condition(name, kind, "in", values))
            else:
                value = _normalize(view_type, name, kind, wanted)
                conditions.append(Condition(name, kind, "eq", value))
        keys = (order_by,) if isinstance(order_by, str) else tuple(order_by)
        order: list[tuple[str, bool]] = []
        for key in keys:
            descending = key.startswith("-")
            name = key.lstrip("-+")
            _indexed(view_type, name)
            order.append((name, descending))
        if not any(name == "id" for name, _ in order):
            order.append(("id", False))
        return cls(view_type, tuple(conditions), tuple(order), offset, limit)

    def matches(self, view: View) -> bool:
        """Whether a view satisfies every condition (what the in-memory store uses)."""
        for condition in self.conditions:
            actual = normalized_value(view, condition.field, condition.kind)
            wanted = condition.value
            if condition.operator == "eq":
                ok = actual == wanted
            elif condition.operator == "in":
                ok = actual in typing.cast(tuple[object, ...], wanted)
            elif actual is None:
                ok = False
            else:
                ok = _compare(actual, condition.operator, wanted)
            if not ok:
                return False
        return True


@dataclass(frozen=True, slots=True)
class Page(Generic[V]):
    """One slice of a query's results, and how many views match in all."""

    items: list[V] = field(default_factory=list)
    total: int = 0
    offset: int = 0
    limit: int | None = None


def normalized_value(view: View, name: str, kind: IndexKind) -> object:
    """The value of an indexed field as back-ends store and compare it."""
    value = getattr(view, name)
    return _plain(value, kind)


def _indexed(view_type: type[View], name: str) -> IndexKind:
    if name != "id" and name not in view_type.indexes:
        raise InvalidViewQuery(
            view_type.view_name,
            f"{name!r} is not declared in {view_type.__qualname__}.indexes; add it there to "
            f"filter or sort on it (each back-end then indexes it)",
        )
    return index_kind(view_type, name)


def _normalize(view_type: type[View], name: str, kind: IndexKind, value: object) -> object:
    if value is None:
        return None
    annotation: Any = view_type.model_fields[name].annotation if name != "id" else str
    try:
        typed = pydantic.TypeAdapter(annotation).validate_python(value)
    except pydantic.ValidationError as error:
        reason = error.errors()[0]["msg"] if error.errors() else str(error)
        raise InvalidViewQuery(
            view_type.view_name, f"{value!r:.80} does not fit {name}: {reason}"
        ) from None
    return _plain(typed, kind)


def _plain(value: object, kind: IndexKind) -> object:
    if value is None:
        return None
    if isinstance(value, enum.Enum):
        value = value.value
    if kind == "datetime" and isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value


def _compare(actual: object, operator: str, wanted: object) -> bool:
    a, w = typing.cast(Any, actual), typing.cast(Any, wanted)
    if operator == "gt":
        return bool(a > w)
    if operator == "gte":
        return bool(a >= w)
    if operator == "lt":
        return bool(a < w)
    return bool(a <= w)
