"""The view store contract, proven on every back-end (the ``backend`` fixture).

Views are read and written through a unit of work: ``get``/``put``/``delete`` with
version checks like aggregates, committed in the unit of work's one transaction with its
aggregates and events; ``find``/``count``/``page`` filter and sort on the declared
indexes of every kind, with ``None`` first ascending and last descending, ties by id.
"""

from __future__ import annotations

import enum
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from conftest import Backend, bank_builder
from facta import (
    AlreadyDelivered,
    Application,
    ConcurrencyError,
    InMemoryPersistence,
    NotFound,
    UnitOfWork,
)
from facta.application.views import OneOf, Range, View
from facta.errors import InvalidViewQuery
from facta.persistence import Receipt
from support.bank import Account, OpenAccount


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


class Item(View):
    view_name = "contract_item"
    indexes = (
        *("name", "count", "ratio", "price", "active"),
        *("seen_at", "day", "ref", "color", "note"),
    )

    name: str
    count: int = 0
    ratio: float = 0.0
    price: Decimal = Decimal("0")
    active: bool = False
    seen_at: datetime
    day: date
    ref: UUID
    color: Color = Color.RED
    note: str | None = None
    extra: str = ""


T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
D0, D1, D2 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)
U0, U1, U2, U3 = (UUID(int=n) for n in (5, 70, 2**64, 2**120))

ITEMS = [
    Item(id="a", name="apple", count=3, ratio=0.5, price=Decimal("1.10"), active=True,
         seen_at=T0 + HOUR, day=D1, ref=U1, color=Color.RED, note="x"),
    Item(id="b", name="banana", count=1, ratio=2.5, price=Decimal("10.00"), active=False,
         seen_at=T0, day=D0, ref=U3, color=Color.GREEN, note=None),
    Item(id="c", name="Cherry", count=3, ratio=-1.0, price=Decimal("2.50"), active=True,
         seen_at=T0 + 2 * HOUR, day=D2, ref=U2, color=Color.BLUE, note="y"),
    Item(id="d", name="date", count=7, ratio=0.5, price=Decimal("0.99"), active=False,
         seen_at=T0 + HOUR, day=D1, ref=U0, color=Color.RED, note=None),
]  # fmt: skip


@pytest.fixture
def app(backend: Backend) -> Application:
    return bank_builder(backend).build()


async def put(app: Application, *views: View) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        for view in views:
            uow.views(type(view)).put(view)
        await uow.commit()


async def get(app: Application, view_id: str) -> Item | None:
    async with app.operation():
        return await app.get(UnitOfWork).views(Item).get(view_id)


async def find(
    app: Application, where: dict[str, object] | None = None, **options: object
) -> list[str]:
    async with app.operation():
        found = await app.get(UnitOfWork).views(Item).find(where, **options)  # type: ignore[arg-type]
    return [item.id for item in found]


@pytest.fixture
async def items(app: Application) -> Application:
    await put(app, *ITEMS)
    return app


async def test_a_view_put_and_committed_reads_back_with_every_field_exact(app: Application) -> None:
    await put(app, ITEMS[0])

    assert await get(app, "a") == ITEMS[0]
    assert await get(app, "nobody") is None


async def test_require_raises_not_found_naming_the_view(app: Application) -> None:
    async with app.operation():
        with pytest.raises(NotFound, match="contract_item"):
            await app.get(UnitOfWork).views(Item).require("nobody")


async def test_a_view_read_changed_and_put_back_is_replaced(app: Application) -> None:
    await put(app, ITEMS[0])
    async with app.operation():
        uow = app.get(UnitOfWork)
        item = await uow.views(Item).require("a")
        uow.views(Item).put(item.model_copy(update={"count": 9, "note": None}))
        await uow.commit()

    stored = await get(app, "a")
    assert stored is not None and (stored.count, stored.note) == (9, None)


async def test_putting_a_new_view_whose_id_exists_is_a_concurrency_error(app: Application) -> None:
    await put(app, ITEMS[0])

    with pytest.raises(ConcurrencyError, match="contract_item"):
        await put(app, ITEMS[0].model_copy(update={"count": 100}))
    stored = await get(app, "a")
    assert stored is not None and stored.count == 3


async def test_of_two_writers_of_one_view_version_the_second_gets_a_concurrency_error(
    backend: Backend, app: Application
) -> None:
    other = bank_builder(backend).build()
    await put(app, ITEMS[0])
    async with app.operation():
        first = app.get(UnitOfWork)
        mine = await first.views(Item).require("a")
        async with other.operation():
            second = other.get(UnitOfWork)
            theirs = await second.views(Item).require("a")
            second.views(Item).put(theirs.model_copy(update={"count": 20}))
            await second.commit()
        first.views(Item).put(mine.model_copy(update={"count": 10}))
        with pytest.raises(ConcurrencyError) as raised:
            await first.commit()

    assert (raised.value.expected_version, raised.value.actual_version) == (1, 2)
    stored = await get(app, "a")
    assert stored is not None and stored.count == 20


async def test_a_deleted_view_is_gone_and_deleting_a_missing_one_does_nothing(
    app: Application,
) -> None:
    await put(app, ITEMS[0], ITEMS[1])
    async with app.operation():
        uow = app.get(UnitOfWork)
        await uow.views(Item).require("a")
        uow.views(Item).delete("a")
        uow.views(Item).delete("b")  # not read first: deleted whatever its version
        uow.views(Item).delete("nobody")
        await uow.commit()

    assert (await get(app, "a"), await get(app, "b")) == (None, None)


async def test_deleting_a_view_changed_since_it_was_read_is_a_concurrency_error(
    backend: Backend, app: Application
) -> None:
    other = bank_builder(backend).build()
    await put(app, ITEMS[0])
    async with app.operation():
        uow = app.get(UnitOfWork)
        await uow.views(Item).require("a")
        async with other.operation():
            second = other.get(UnitOfWork)
            item = await second.views(Item).require("a")
            second.views(Item).put(item.model_copy(update={"count": 4}))
            await second.commit()
        uow.views(Item).delete("a")
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    assert await get(app, "a") is not None


async def test_get_sees_this_unit_of_works_staged_write_and_others_do_not(
    app: Application,
) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(Item).put(ITEMS[0])
        assert await uow.views(Item).get("a") == ITEMS[0]
        assert await get(app, "a") is None
        await uow.commit()

    assert await get(app, "a") == ITEMS[0]


async def test_rollback_discards_staged_view_writes(app: Application) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(Item).put(ITEMS[0])
        await uow.rollback()
        await uow.commit()

    assert await get(app, "a") is None


async def test_views_commit_with_aggregates_and_events(app: Application) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Account).add(Account.open("ann", "Ann"))
        uow.views(Item).put(ITEMS[0])
        await uow.commit()

    async with app.operation():
        assert (await app.get(UnitOfWork).repository(Account).get("ann")).owner == "Ann"
    assert await get(app, "a") == ITEMS[0]


async def test_a_commit_failing_on_its_aggregate_writes_no_view(app: Application) -> None:
    await app.mediator.send(OpenAccount(account_id="ann", owner="Ann"))
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Account).add(Account.open("ann", "Ann again"))
        uow.views(Item).put(ITEMS[0])
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    assert await get(app, "a") is None


async def test_a_commit_failing_on_a_view_writes_no_aggregate(app: Application) -> None:
    await put(app, ITEMS[0])
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.repository(Account).add(Account.open("ann", "Ann"))
        uow.views(Item).put(ITEMS[1])
        uow.views(Item).put(ITEMS[0])  # exists: the whole commit fails
        with pytest.raises(ConcurrencyError):
            await uow.commit()

    async with app.operation():
        assert await app.get(UnitOfWork).repository(Account).find("ann") is None
    assert await get(app, "b") is None


async def test_views_commit_with_a_handlers_receipt_and_never_twice_for_one_event(
    app: Application,
) -> None:
    receipt = Receipt(uuid4(), "tests.Summaries")
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(Item).put(ITEMS[0])
        await uow.commit(receipt=receipt)
    async with app.operation():
        uow = app.get(UnitOfWork)
        uow.views(Item).put(ITEMS[1])
        with pytest.raises(AlreadyDelivered):
            await uow.commit(receipt=receipt)

    assert (await get(app, "a"), await get(app, "b")) == (ITEMS[0], None)


EQUALITY = [
    ("name", "banana", ["b"]),
    ("count", 3, ["a", "c"]),
    ("ratio", 0.5, ["a", "d"]),
    ("price", Decimal("2.5"), ["c"]),
    ("active", True, ["a", "c"]),
    ("seen_at", T0 + HOUR, ["a", "d"]),
    ("day", D1, ["a", "d"]),
    ("ref", U2, ["c"]),
    ("color", Color.RED, ["a", "d"]),
    ("color", "green", ["b"]),
    ("note", None, ["b", "d"]),
    ("id", "c", ["c"]),
]


@pytest.mark.parametrize(("field", "value", "expected"), EQUALITY)
async def test_find_by_equality_on_each_index_kind(
    items: Application, field: str, value: object, expected: list[str]
) -> None:
    assert await find(items, {field: value}) == expected


RANGES = [
    ("name", Range(gte="b", lt="d"), ["b"]),
    ("count", Range(gt=1, lte=3), ["a", "c"]),
    ("ratio", Range(lt=0.5), ["c"]),
    ("price", Range(gte=Decimal("1.10"), lt=Decimal("10")), ["a", "c"]),
    ("active", Range(gt=False), ["a", "c"]),
    ("seen_at", Range(gt=T0), ["a", "d", "c"]),
    ("day", Range(lte=D1), ["b", "a", "d"]),
    ("ref", Range(gt=U1), ["c", "b"]),
    ("color", Range(gte="green"), ["b", "a", "d"]),
    ("note", Range(gte="x"), ["a", "c"]),
]


@pytest.mark.parametrize(("field", "condition", "expected"), RANGES)
async def test_find_by_range_on_each_index_kind_never_matches_none(
    items: Application, field: str, condition: Range, expected: list[str]
) -> None:
    assert await find(items, {field: condition}, order_by=field) == expected


ONE_OF = [
    ("name", OneOf(["apple", "date", "nope"]), ["a", "d"]),
    ("count", OneOf([1, 7]), ["b", "d"]),
    ("price", OneOf([Decimal("0.99"), Decimal("10")]), ["b", "d"]),
    ("active", OneOf([False]), ["b", "d"]),
    ("seen_at", OneOf([T0, T0 + 2 * HOUR]), ["b", "c"]),
    ("day", OneOf([D0, D2]), ["b", "c"]),
    ("ref", OneOf([U0, U3]), ["b", "d"]),
    ("color", OneOf([Color.GREEN, "blue"]), ["b", "c"]),
    ("note", OneOf([None, "y"]), ["b", "c", "d"]),
    ("note", OneOf([]), []),
]


@pytest.mark.parametrize(("field", "condition", "expected"), ONE_OF)
async def test_find_by_one_of_on_each_index_kind(
    items: Application, field: str, condition: OneOf, expected: list[str]
) -> None:
    assert await find(items, {field: condition}) == expected


async def test_conditions_on_several_fields_all_apply(items: Application) -> None:
    where = {"active": False, "count": Range(gte=2), "color": "red"}
    assert await find(items, where) == ["d"]


SORTS = [
    ("count", ["b", "a", "c", "d"]),
    ("-count", ["d", "a", "c", "b"]),
    ("name", ["c", "a", "b", "d"]),
    ("-price", ["b", "c", "a", "d"]),
    ("ratio", ["c", "a", "d", "b"]),
    ("note", ["b", "d", "a", "c"]),
    ("-note", ["c", "a", "b", "d"]),
    ("-id", ["d", "c", "b", "a"]),
    (("active", "-seen_at"), ["d", "b", "c", "a"]),
    (("day", "-ref"), ["b", "a", "d", "c"]),
    ("color", ["c", "b", "a", "d"]),
]


@pytest.mark.parametrize(("order_by", "expected"), SORTS)
async def test_sorting_ties_by_id_with_none_first_ascending_and_last_descending(
    items: Application, order_by: str | tuple[str, ...], expected: list[str]
) -> None:
    assert await find(items, order_by=order_by) == expected


async def test_offset_limit_page_and_count(items: Application) -> None:
    async with items.operation():
        store = items.get(UnitOfWork).views(Item)
        sliced = await store.find(order_by="-id", offset=1, limit=2)
        page = await store.page({"count": Range(gte=2)}, order_by="count", offset=1, limit=1)
        assert [item.id for item in sliced] == ["c", "b"]
        assert ([item.id for item in page.items], page.total) == (["c"], 3)
        assert await store.count() == 4
        assert await store.count({"note": None}) == 2
        assert await store.find(limit=0) == []
        assert await store.find(offset=10) == []
        assert [item.id for item in await store.find(offset=3)] == ["d"]


REFUSED = [
    pytest.param({"extra": ""}, "not declared", id="undeclared-field"),
    pytest.param({"count": "many"}, "does not fit count", id="wrong-type"),
    pytest.param({"name": {"$ne": ""}}, "does not fit name", id="operator-injection"),
    pytest.param({"ref": {"$gt": ""}}, "does not fit ref", id="operator-injection-uuid"),
    pytest.param({"color": "purple"}, "does not fit color", id="not-an-enum-value"),
    pytest.param({"count": OneOf([1, {"$ne": 0}])}, "does not fit count", id="injection-in-one-of"),
]


@pytest.mark.parametrize(("where", "reason"), REFUSED)
async def test_a_query_on_an_undeclared_field_or_with_a_wrong_value_is_refused(
    items: Application, where: dict[str, object], reason: str
) -> None:
    async with items.operation():
        store = items.get(UnitOfWork).views(Item)
        with pytest.raises(InvalidViewQuery, match=reason):
            await store.find(where)
        with pytest.raises(InvalidViewQuery, match=reason):
            await store.count(where)


async def test_sorting_on_an_undeclared_field_or_a_negative_slice_is_refused(
    items: Application,
) -> None:
    async with items.operation():
        store = items.get(UnitOfWork).views(Item)
        with pytest.raises(InvalidViewQuery, match="extra"):
            await store.find(order_by="-extra")
        with pytest.raises(InvalidViewQuery, match="negative"):
            await store.find(offset=-1)


async def test_an_id_that_is_not_a_str_is_refused(items: Application) -> None:
    async with items.operation():
        store = items.get(UnitOfWork).views(Item)
        with pytest.raises(NotFound):
            await store.get({"$ne": ""})  # type: ignore[arg-type]
        with pytest.raises(NotFound):
            store.delete({"$ne": ""})  # type: ignore[arg-type]
        with pytest.raises(InvalidViewQuery):
            await store.find({"id": {"$ne": ""}})
        await items.get(UnitOfWork).commit()
    assert await find(items) == ["a", "b", "c", "d"]


def random_items(rng: random.Random, count: int) -> list[Item]:
    def maybe(value: str) -> str | None:
        return None if rng.random() < 0.3 else value

    return [
        Item(
            id=f"i{number:02}",
            name=rng.choice(["apple", "Apple", "éclair", "zest", "a b", "Zebra", "ä"]),
            count=rng.randint(-2, 3),
            ratio=rng.choice([-1.5, 0.0, 0.25, 2.0]),
            price=Decimal(rng.randint(0, 400)) / 100,
            active=rng.random() < 0.5,
            seen_at=T0 + rng.randint(0, 3) * HOUR,
            day=rng.choice([D0, D1, D2]),
            ref=rng.choice([U0, U1, U2, U3]),
            color=rng.choice(list(Color)),
            note=maybe(rng.choice(["x", "y", "Y"])),
        )
        for number in range(count)
    ]


def random_query(rng: random.Random, items: list[Item]) -> dict[str, Any]:
    fields = list(Item.indexes)
    where: dict[str, object] = {}
    for name in rng.sample(fields, rng.randint(0, 2)):
        values = [getattr(item, name) for item in rng.sample(items, 3)]
        shape = rng.choice(["eq", "range", "one_of"])
        if shape == "eq":
            where[name] = values[0]
        elif shape == "one_of":
            where[name] = OneOf(values[:2])
        else:
            low, high = sorted((v for v in values if v is not None), key=_key)[:2] or [None, None]
            where[name] = Range(gte=low, lt=high) if rng.random() < 0.5 else Range(gt=low)
    keys = rng.sample(fields, rng.randint(0, 2))
    order_by = [key if rng.random() < 0.5 else f"-{key}" for key in keys]
    return {"where": where, "order_by": order_by, "offset": rng.randint(0, 3), "limit": 8}


def _key(value: object) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


async def test_random_queries_answer_as_the_in_memory_reference(
    app: Application, backend: Backend
) -> None:
    rng = random.Random(20261202)
    items = random_items(rng, 30)
    reference = bank_builder(Backend("memory", lambda: InMemoryPersistence())).build()
    await put(app, *items)
    await put(reference, *items)

    for _ in range(25):
        query = random_query(rng, items)
        expected = await find(reference, **query)
        assert await find(app, **query) == expected, query
        async with app.operation():
            count = await app.get(UnitOfWork).views(Item).count(query["where"])
        assert count == len(await find(reference, query["where"]))
