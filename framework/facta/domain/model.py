"""Entities and value objects: the building blocks inside an aggregate."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from facta.errors import ConfigurationError

__all__ = ["Entity", "ValueObject"]


class ValueObject(BaseModel):
    """An immutable value, equal to another of its type with the same fields.

    Subclass it for money, addresses, order lines: anything defined by what it is, not by
    who it is. Validation in its fields (or a ``model_validator``) keeps it always valid.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


class Entity(BaseModel):
    """An object with an identity that lasts while its state changes.

    Two entities are equal when they have the same type and ``id``, whatever their state.
    Assignments are validated, so an entity cannot be put into a state its types forbid.
    The ``id`` is set once, when the entity is created: assigning another one raises
    ``ConfigurationError``, since a changed identity would make a unit of work write one
    entity's state over another's.
    """

    model_config = ConfigDict(validate_assignment=True, extra="forbid")

    id: str

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "id" and value != self.__dict__.get("id", value):
            raise ConfigurationError(
                f"the id of {type(self).__name__} {self.__dict__['id']!r} cannot change "
                f"(to {value!r}): an entity's identity is immutable; create a new "
                f"{type(self).__name__} with the new id instead"
            )
        if name in self.__pydantic_fields__ and self.model_config.get("validate_assignment"):
            # what BaseModel.__setattr__ ends up calling for such a field, without its two
            # Python-level steps on the way (a frozen field is still refused by it)
            self.__pydantic_validator__.validate_assignment(self, name, value)
        else:
            BaseModel.__setattr__(self, name, value)  # not super(): runs on every change

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Entity):
            return NotImplemented
        return type(self) is type(other) and self.id == other.id

    def __hash__(self) -> int:
        return hash((type(self), self.id))
