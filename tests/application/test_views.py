"""Views declare what queries may filter and sort on; queries are checked against it."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from facta import ConfigurationError, InvalidViewQuery, OneOf, Range, View
from facta.application.views import ViewQuery, index_kind


class Status(enum.Enum):
    OPEN = "open"
    CLOSED = "closed"


class Ticket(View):
    indexes = ("status", "opened_at", "price", "assignee")

    status: Status
    opened_at: datetime
    price: Decimal
    assignee: str | None = None
    tags: list[str] = []  # noqa: RUF012 - pydantic copies defaults


def test_a_view_is_stored_under_its_class_name_in_snake_case() -> None:
    assert Ticket.view_name == "ticket"


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        pytest.param("status", "str", id="enum of str"),
        pytest.param("opened_at", "datetime", id="datetime"),
        pytest.param("price", "decimal", id="decimal"),
        pytest.param("assignee", "str", id="optional str"),
        pytest.param("id", "str", id="id"),
    ],
)
def test_an_indexed_field_has_a_scalar_kind(field: str, kind: str) -> None:
    assert index_kind(Ticket, field) == kind


def test_a_field_that_is_not_a_scalar_cannot_be_indexed() -> None:
    with pytest.raises(ConfigurationError, match="cannot be indexed"):

        class Tagged(View):
            indexes = ("tags",)
            tags: list[str]


def test_an_index_on_an_unknown_field_is_refused_when_the_class_is_defined() -> None:
    with pytest.raises(ConfigurationError, match="not one of its fields"):

        class Typo(View):
            indexes = ("stauts",)
            status: str


def test_a_storage_name_that_no_database_accepts_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not a storage name"):

        class Odd(View):
            view_name = "Odd-Name"


def test_query_values_are_normalized_to_what_every_back_end_compares() -> None:
    paris = timezone(timedelta(hours=1))
    query = ViewQuery.build(
        Ticket,
        {"status": "open", "opened_at": Range(gte=datetime(2026, 1, 1, 12, tzinfo=paris))},
        order_by="-opened_at",
    )

    assert [(c.field, c.operator, c.value) for c in query.conditions] == [
        ("status", "eq", "open"),
        ("opened_at", "gte", datetime(2026, 1, 1, 11, tzinfo=UTC)),
    ]
    assert query.order == (("opened_at", True), ("id", False))


@pytest.mark.parametrize(
    ("where", "order_by", "message"),
    [
        pytest.param({"tags": "x"}, (), "not declared", id="an unindexed field"),
        pytest.param({}, "-tags", "not declared", id="sorting on an unindexed field"),
        pytest.param({"price": "cheap"}, (), "does not fit price", id="a wrong value"),
        pytest.param({"status": {"$ne": ""}}, (), "does not fit status", id="an operator"),
        pytest.param({"status": OneOf(["open", "lost"])}, (), "does not fit", id="one of"),
    ],
)
def test_a_query_that_cannot_be_answered_everywhere_is_refused(
    where: dict[str, object], order_by: str, message: str
) -> None:
    with pytest.raises(InvalidViewQuery, match=message):
        ViewQuery.build(Ticket, where, order_by)


def test_a_negative_slice_is_refused() -> None:
    with pytest.raises(InvalidViewQuery, match="must not be negative"):
        ViewQuery.build(Ticket, offset=-1)
