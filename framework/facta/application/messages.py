"""Commands and queries: the typed requests an application answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from facta.application.conflicts import ConflictRetry
from facta.errors import FieldError, MessageValidationError

__all__ = ["Command", "Message", "Query", "field_errors", "parse_message"]

R = TypeVar("R", covariant=True)


class Message(BaseModel):
    """An immutable, validated request; the base of commands and queries."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Command(Message, Generic[R]):
    """A request to change the state of the application, answered with a result of type R.

    Name it in the imperative (``ConfirmOrder``) and declare its inputs as typed fields;
    it is validated when it is built, e.g. ``class ConfirmOrder(Command[None])`` with an
    ``order_id: str`` field. Exactly one ``CommandHandler`` handles it.

    Set ``retry_on_conflict`` to a ``ConflictRetry`` to have a run that lost a race
    (``ConcurrencyError``) run again, whole, in a fresh unit of work.
    """

    retry_on_conflict: ClassVar[ConflictRetry | None] = None


class Query(Message, Generic[R]):
    """A request to read state, answered with a result of type R; it changes nothing.

    Exactly one ``QueryHandler`` handles it.
    """


M = TypeVar("M", bound=Message)


def parse_message(message_type: type[M], data: Mapping[str, object]) -> M:
    """Build a message from untrusted input, or raise ``MessageValidationError``.

    Every invalid field is listed in the error, so an API can report them all at once.
    """
    try:
        return message_type.model_validate(data)
    except ValidationError as error:
        raise MessageValidationError(message_type.__name__, field_errors(error)) from error


def field_errors(error: ValidationError) -> list[FieldError]:
    """facta's field errors for a pydantic validation error, one per invalid field."""
    return [
        FieldError(location=tuple(item["loc"]), message=item["msg"], code=item["type"])
        for item in error.errors(include_url=False)
    ]
