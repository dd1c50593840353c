"""Entities are equal by identity; value objects by value, and never change."""

from __future__ import annotations

import pydantic
import pytest

from facta import ConfigurationError, Entity, ValueObject


class Seat(Entity):
    row: int
    taken: bool = False


class Table(Entity):
    seats: int


class Booth(Entity):
    row: int = pydantic.Field(frozen=True)


class Sketch(Entity):
    """An entity whose assignments are not validated (its choice)."""

    model_config = pydantic.ConfigDict(validate_assignment=False)

    rows: int


class Note(Entity):
    _scribble: str = pydantic.PrivateAttr(default="")


class Money(ValueObject):
    amount: int
    currency: str


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        pytest.param(Seat(id="s1", row=1), Seat(id="s1", row=9, taken=True), True, id="same-id"),
        pytest.param(Seat(id="s1", row=1), Seat(id="s2", row=1), False, id="other-id"),
        pytest.param(Seat(id="s1", row=1), Table(id="s1", seats=4), False, id="other-type"),
    ],
)
def test_entities_are_equal_when_they_have_the_same_type_and_id(
    left: Entity, right: Entity, equal: bool
) -> None:
    assert (left == right) is equal
    assert (hash(left) == hash(right)) is equal


def test_an_entity_stays_equal_to_itself_while_its_state_changes() -> None:
    seat = Seat(id="s1", row=1)
    before = Seat(id="s1", row=1)

    seat.taken = True

    assert seat == before
    assert seat in {before}


def test_an_entity_is_not_equal_to_something_that_is_not_an_entity() -> None:
    assert Seat(id="s1", row=1) != "s1"


def test_an_entitys_id_cannot_change_once_set() -> None:
    seat = Seat(id="s1", row=1)

    with pytest.raises(ConfigurationError, match="Seat 's1' cannot change \\(to 's2'\\)"):
        seat.id = "s2"

    assert seat.id == "s1"


def test_assigning_an_entity_the_id_it_has_changes_nothing() -> None:
    seat = Seat(id="s1", row=1)

    seat.id = "s1"

    assert seat == Seat(id="s1", row=2)


def test_an_entity_refuses_an_assignment_its_types_forbid() -> None:
    seat = Seat(id="s1", row=1)

    with pytest.raises(pydantic.ValidationError):
        seat.row = "front"  # type: ignore[assignment]

    assert seat.row == 1


def test_an_entity_validates_and_converts_what_is_assigned() -> None:
    seat = Seat(id="s1", row=1)

    seat.row = "7"  # type: ignore[assignment]

    assert seat.row == 7


def test_an_entity_refuses_an_assignment_to_a_frozen_field() -> None:
    booth = Booth(id="b1", row=1)

    with pytest.raises(pydantic.ValidationError, match="frozen"):
        booth.row = 2  # type: ignore[misc]

    assert booth.row == 1


def test_an_entity_that_turns_validation_off_takes_assignments_as_given() -> None:
    sketch = Sketch(id="k1", rows=1)

    sketch.rows = "many"  # type: ignore[assignment]

    assert sketch.__dict__["rows"] == "many"


def test_an_entity_keeps_private_attributes_apart_from_its_fields() -> None:
    note = Note(id="n1")

    note._scribble = "draft"

    assert note._scribble == "draft"
    assert note.model_dump() == {"id": "n1"}


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        pytest.param(
            Money(amount=5, currency="EUR"), Money(amount=5, currency="EUR"), True, id="same-values"
        ),
        pytest.param(
            Money(amount=5, currency="EUR"),
            Money(amount=5, currency="USD"),
            False,
            id="other-currency",
        ),
        pytest.param(
            Money(amount=5, currency="EUR"),
            Money(amount=6, currency="EUR"),
            False,
            id="other-amount",
        ),
    ],
)
def test_value_objects_are_equal_when_their_values_are(
    left: Money, right: Money, equal: bool
) -> None:
    assert (left == right) is equal
    assert (hash(left) == hash(right)) is equal


def test_a_value_object_cannot_be_changed() -> None:
    price = Money(amount=5, currency="EUR")

    with pytest.raises(pydantic.ValidationError):
        price.amount = 6  # type: ignore[misc]

    assert price.amount == 5


def test_a_value_object_refuses_unknown_fields() -> None:
    with pytest.raises(pydantic.ValidationError):
        Money(amount=5, currency="EUR", note="x")  # type: ignore[call-arg]
