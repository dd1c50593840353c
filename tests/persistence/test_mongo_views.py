"""What only MongoDB has for views: no operator can be injected through a view query or
id, and view documents keep their fields' types through facta's codec."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bson.decimal128 import Decimal128

from conftest import Backend, bank_builder
from facta import Application, PersistenceError, UnitOfWork
from facta.application.views import OneOf, Range, View, ViewQuery
from facta.persistence.mongo import MongoStore, MongoUnitOfWork
from facta.persistence.mongo.views import view_filter


class Tag(View):
    view_name = "contract_tag"
    indexes = ("label", "weight")

    label: str
    weight: Decimal = Decimal("0")


@pytest.fixture
async def app(mongo: Backend) -> Application:
    app = bank_builder(mongo).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        for tag in (Tag(id="$ne", label="$gt"), Tag(id="plain", label="text")):
            uow.views(Tag).put(tag)
        await uow.commit()
    return app


@pytest.mark.parametrize("hostile", [{"$ne": ""}, {"$gt": ""}, ["plain"], 0, None])
async def test_a_view_id_that_is_not_a_str_is_refused_before_any_query(
    app: Application, hostile: Any
) -> None:
    async with app.operation():
        uow = app.get(UnitOfWork)
        with pytest.raises(PersistenceError, match="refused"):
            await uow.load_view(Tag, hostile)


async def test_ids_and_values_that_look_like_operators_are_only_text(app: Application) -> None:
    async with app.operation():
        tags = app.get(UnitOfWork).views(Tag)
        assert (await tags.require("$ne")).label == "$gt"
        assert [t.id for t in await tags.find({"label": "$gt"})] == ["$ne"]
        assert await tags.find({"label": '{"$ne": ""}'}) == []
        assert await tags.find({"id": OneOf(["$ne", "$gt"])}) == [Tag(id="$ne", label="$gt")]


def test_every_condition_is_an_explicit_operator_on_a_declared_field() -> None:
    query = ViewQuery.build(
        Tag, {"label": "x", "weight": Range(gte=1, lt=2), "id": OneOf(["a", None])}
    )

    assert view_filter(query) == {
        "label": {"$eq": "x"},
        "weight": {"$gte": Decimal128("1"), "$lt": Decimal128("2")},
        "_id": {"$in": ["a", None]},
    }


async def test_a_view_document_keeps_its_id_version_and_typed_fields(app: Application) -> None:
    store = app.get(MongoStore)

    document = await store.collection("facta_view_contract_tag").find_one({"_id": "plain"})

    assert document is not None
    assert (document["_version"], document["label"], str(document["weight"])) == (1, "text", "0")
    assert "id" not in document


class Note(View):
    view_name = "contract_note"
    indexes = ("text",)

    text: str


async def test_views_commit_in_the_session_a_unit_of_work_handed_out(mongo: Backend) -> None:
    app = bank_builder(mongo).build()
    async with app.operation():
        uow = app.get(UnitOfWork)
        assert isinstance(uow, MongoUnitOfWork)
        await uow.session()  # its transaction starts before the view collection exists
        uow.views(Note).put(Note(id="n", text="hello"))
        await uow.commit()

    async with app.operation():
        assert await app.get(UnitOfWork).views(Note).get("n") == Note(id="n", text="hello")
