"""Direct setters of the four slots in which pydantic keeps a model instance's data.

facta copies events and restores aggregates on every command. Setting these slots
through their own descriptors skips what ``object.__setattr__`` checks first (a search of
the class's bases and a look-up of the name), which was about half the cost of a copy.
Each setter is called as ``setter(instance, value)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

__all__ = ["set_extra", "set_fields", "set_fields_set", "set_private"]

_slots = BaseModel.__dict__

set_fields: Callable[[BaseModel, dict[str, Any]], None] = _slots["__dict__"].__set__
"""Sets ``__dict__``: the field values."""

set_fields_set: Callable[[BaseModel, set[str]], None] = _slots["__pydantic_fields_set__"].__set__
"""Sets ``__pydantic_fields_set__``: the names of the fields given explicitly."""

set_extra: Callable[[BaseModel, dict[str, Any] | None], None] = _slots["__pydantic_extra__"].__set__
"""Sets ``__pydantic_extra__``: the extra fields (None when the model forbids them)."""

set_private: Callable[[BaseModel, dict[str, Any] | None], None] = _slots[
    "__pydantic_private__"
].__set__
"""Sets ``__pydantic_private__``: the private attributes (None when there are none)."""
