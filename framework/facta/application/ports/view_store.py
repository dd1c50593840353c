"""The view store: views read and written through a unit of work.

``uow.views(OrderSummary)`` gives the ``ViewStore`` of one view type in one unit of work.
Reads see what committed (and this unit of work's own staged writes, for ``get``);
``put`` and ``delete`` are staged and written by the unit of work's commit, in the same
transaction as its aggregates, events and receipt, or not at all.

Writes are checked like aggregates: a view read with ``get`` is replaced only if nobody
replaced it since (``ConcurrencyError`` otherwise), and a view put without being read
first must be new. So two projections, relay workers or commands that race on one view
never overwrite each other's work silently: the loser is retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from facta.application.views import Page, View, ViewQuery
from facta.errors import ConfigurationError, NotFound

if TYPE_CHECKING:
    from facta.application.ports.unit_of_work import UnitOfWork

__all__ = ["StoredView", "ViewStore", "ViewWrite", "ViewWriteKind"]

V = TypeVar("V", bound=View)

ViewWriteKind = str
"""``"insert"``, ``"update"`` or ``"delete"``."""


@dataclass(frozen=True, slots=True)
class StoredView:
    """A view as a back-end loaded it: its document (JSON text or a mapping) and version."""

    document: str | bytes | Mapping[str, Any]
    version: int


@dataclass(frozen=True, slots=True)
class ViewWrite:
    """One view write of a commit, as a back-end must apply it.

    ``insert`` must fail if the id exists; ``update`` and ``delete`` apply only if the
    stored version is still ``expected_version`` (a ``delete`` with ``expected_version``
    -1 deletes whatever is stored). Any failure raises ``ConcurrencyError``.
    """

    kind: ViewWriteKind
    view_type: type[View]
    view_id: str
    view: View | None
    document: str
    expected_version: int
    new_version: int


@dataclass(slots=True)
class _TrackedView:
    loaded_version: int | None  # None: never read by this unit of work
    loaded: str | None  # the committed document as read (None: absent)
    staged: View | None = None
    deleted: bool = False

    @property
    def dirty(self) -> bool:
        return self.staged is not None or self.deleted


class ViewTracker:
    """The views one unit of work has read and staged; the unit of work owns one."""

    __slots__ = ("_tracked",)

    def __init__(self) -> None:
        self._tracked: dict[tuple[type[View], str], _TrackedView] = {}

    def writes(self) -> list[ViewWrite]:
        """The staged writes, in the order the views were first touched."""
        writes: list[ViewWrite] = []
        for (view_type, view_id), tracked in self._tracked.items():
            if not tracked.dirty:
                continue
            expected = tracked.loaded_version
            if tracked.deleted:
                if expected == 0:
                    continue  # read as absent, deleted: nothing to do
                writes.append(
                    ViewWrite(
                        "delete",
                        view_type,
                        view_id,
                        None,
                        "",
                        -1 if expected is None else expected,
                        0,
                    )
                )
                continue
            view = tracked.staged
            assert view is not None
            kind = "insert" if not expected else "update"
            writes.append(
                ViewWrite(
                    kind,
                    view_type,
                    view_id,
                    view,
                    view.model_dump_json(),
                    expected or 0,
                    (expected or 0) + 1,
                )
            )
        return writes

    def committed(self, writes: Sequence[ViewWrite]) -> None:
        """The writes were committed: what was staged is now what is stored."""
        for write in writes:
            key = (write.view_type, write.view_id)
            if write.kind == "delete":
                self._tracked[key] = _TrackedView(0, None)
            else:
                self._tracked[key] = _TrackedView(write.new_version, write.document)

    def clear(self) -> None:
        """Forget everything read and staged."""
        self._tracked.clear()


class ViewStore(Generic[V]):
    """The views of one type, as seen through one unit of work.

    ``get`` reads a view (or what this unit of work staged for it); ``put`` and ``delete``
    stage writes for the commit; ``find``, ``count`` and ``page`` query what committed,
    filtering and sorting on the fields the view declares in ``indexes``.
    """

    def __init__(
        self,
        unit_of_work: UnitOfWork,
        view_type: type[V],
        storage: type[View] | None,
        tracker: ViewTracker,
    ) -> None:
        self._uow = unit_of_work
        self._type = view_type
        self._storage: type[View] = storage or view_type  # a rebuild's copy stores elsewhere
        self._tracker = tracker  # the unit of work's: what it read and staged of every view

    @property
    def view_type(self) -> type[V]:
        """The view type this store reads and writes."""
        return self._type

    async def get(self, view_id: str) -> V | None:
        """The view with ``view_id``, or None. Each call returns a new copy."""
        tracked = await self._track(view_id)
        if tracked.deleted:
            return None
        if tracked.staged is not None:
            return cast(V, tracked.staged.model_copy(deep=True))
        if tracked.loaded is None:
            return None
        return self._type.model_validate_json(tracked.loaded)

    async def require(self, view_id: str) -> V:
        """The view with ``view_id``; raises ``NotFound`` if there is none."""
        view = await self.get(view_id)
        if view is None:
            raise NotFound(self._type.view_name, view_id)
        return view

    def put(self, view: V) -> None:
        """Stage ``view`` to be stored on commit (replacing the one read with ``get``).

        A view that this unit of work did not read first is inserted, and the commit
        fails with ``ConcurrencyError`` if one with its id exists: ``get`` it to replace it.
        """
        if not isinstance(view, self._type):
            raise ConfigurationError(
                f"put() of {type(view).__qualname__} into the store of "
                f"{self._type.__qualname__}: use uow.views({type(view).__qualname__})"
            )
        key = (self._storage, view.id)
        tracked = self._tracker._tracked.get(key)
        if tracked is None:
            tracked = self._tracker._tracked[key] = _TrackedView(None, None)
        tracked.staged = view.model_copy(deep=True)
        tracked.deleted = False

    def delete(self, view_id: str) -> None:
        """Stage the deletion of a view on commit; deleting a missing view does nothing."""
        if not isinstance(view_id, str):  # e.g. {"$ne": ""} from a request body
            raise NotFound(self._type.view_name, repr(view_id))
        key = (self._storage, view_id)
        tracked = self._tracker._tracked.get(key)
        if tracked is None:
            tracked = self._tracker._tracked[key] = _TrackedView(None, None)
        tracked.staged = None
        tracked.deleted = True

    async def find(
        self,
        where: Mapping[str, object] | None = None,
        *,
        order_by: str | Sequence[str] = (),
        offset: int = 0,
        limit: int | None = None,
    ) -> list[V]:
        """The committed views matching ``where``, sorted by ``order_by`` (``"-field"``
        for descending; ties by ``id``), from ``offset``, at most ``limit`` of them."""
        query = ViewQuery.build(self._storage, where, order_by, offset, limit)
        stored = await self._uow.query_views(query)
        return [self._restore(item.document) for item in stored]

    async def count(self, where: Mapping[str, object] | None = None) -> int:
        """How many committed views match ``where``."""
        return await self._uow.count_views(ViewQuery.build(self._storage, where))

    async def page(
        self,
        where: Mapping[str, object] | None = None,
        *,
        order_by: str | Sequence[str] = (),
        offset: int = 0,
        limit: int = 20,
    ) -> Page[V]:
        """One page of ``find`` and the total count of matching views."""
        items = await self.find(where, order_by=order_by, offset=offset, limit=limit)
        total = await self.count(where)
        return Page(items, total, offset, limit)

    async def _track(self, view_id: str) -> _TrackedView:
        if not isinstance(view_id, str):
            raise NotFound(self._type.view_name, repr(view_id))
        key = (self._storage, view_id)
        tracked = self._tracker._tracked.get(key)
        if tracked is not None and tracked.loaded_version is not None:
            return tracked
        stored = await self._uow.load_view(self._storage, view_id)
        loaded = None if stored is None else _as_text(self._type, stored.document)
        version = 0 if stored is None else stored.version
        if tracked is None:
            tracked = self._tracker._tracked[key] = _TrackedView(version, loaded)
        else:  # staged before it was read: keep the staged write, learn the version
            tracked.loaded_version, tracked.loaded = version, loaded
        return tracked

    def _restore(self, document: str | bytes | Mapping[str, Any]) -> V:
        if isinstance(document, str | bytes):
            return self._type.model_validate_json(document)
        return self._type.model_validate(document)


def _as_text(view_type: type[View], document: str | bytes | Mapping[str, Any]) -> str:
    if isinstance(document, str):
        return document
    if isinstance(document, bytes):
        return document.decode()
    return view_type.model_validate(document).model_dump_json()
