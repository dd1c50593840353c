"""Problem details for HTTP APIs (RFC 9457): every error answer as ``application/problem+json``.

A ``Problem`` is the JSON object of one error answer: ``type`` (a URI naming the kind of
problem, ``about:blank`` when the status says it all), ``title`` (the same for every
occurrence of the type), ``status``, ``detail`` (this occurrence, for a human) and
``instance``; ``errors`` lists invalid fields; any other member is an extension. Build one
with ``Problem.of(...)`` and answer it with ``.response()``::

    Problem.of(404, "no order 'o-7'").response()
    Problem.of(
        422,
        "the order is not valid",
        type="urn:mariospizzeria:problem:invalid-order",
        title="Invalid order",
        errors=refused.errors,
    ).response()
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from http import HTTPStatus

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from starlette.responses import JSONResponse

from facta.errors import FieldError

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "Problem",
    "ProblemFieldError",
    "ProblemResponse",
    "problem_errors",
    "problem_responses",
    "problem_schema",
]

PROBLEM_CONTENT_TYPE = "application/problem+json"
"""The media type of problem details in JSON (RFC 9457)."""


class ProblemFieldError(BaseModel):
    """One invalid field of a problem's ``errors``: where it is and what is wrong.

    ``pointer`` is a JSON Pointer (as a URI fragment, ``#/lines/0/size``) into the
    document that was refused; ``location`` is the same path as a list, ``code`` the
    validation error's machine-readable kind.
    """

    model_config = ConfigDict(frozen=True)

    pointer: str
    location: tuple[str | int, ...]
    detail: str
    code: str


class Problem(BaseModel):
    """The problem details of one error answer (RFC 9457); unknown members are extensions."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = Field(default="about:blank", description="A URI naming the problem type.")
    title: str = Field(description="A short summary of the problem type.")
    status: int = Field(ge=100, le=599, description="The HTTP status code.")
    detail: str | None = Field(default=None, description="This occurrence, for a human.")
    instance: str | None = Field(default=None, description="A URI naming this occurrence.")
    errors: tuple[ProblemFieldError, ...] | None = Field(
        default=None, description="The invalid fields, when the input was refused for them."
    )

    @classmethod
    def of(
        cls,
        status: int,
        detail: str | None = None,
        *,
        type: str = "about:blank",
        title: str | None = None,
        instance: str | None = None,
        errors: Sequence[FieldError] | None = None,
        pointer_base: str = "#",
        extensions: Mapping[str, JsonValue] | None = None,
    ) -> Problem:
        """A problem with ``status``; the title defaults to the status's reason phrase.

        ``errors`` (facta's ``FieldError``) become ``ProblemFieldError`` entries whose
        pointers start at ``pointer_base``; ``extensions`` are added as members.
        """
        members: dict[str, object] = {**(extensions or {})}
        members.update(
            type=type,
            title=title or _phrase(status),
            status=status,
            detail=detail,
            instance=instance,
            errors=None if errors is None else problem_errors(errors, pointer_base),
        )
        return cls.model_validate(members)

    def to_json(self) -> dict[str, JsonValue]:
        """The problem as a JSON object, without the members that are not set."""
        return self.model_dump(mode="json", exclude_none=True)

    def response(self, headers: Mapping[str, str] | None = None) -> ProblemResponse:
        """The HTTP answer: this problem as ``application/problem+json`` with its status."""
        return ProblemResponse(self.to_json(), status_code=self.status, headers=headers)


class ProblemResponse(JSONResponse):
    """A JSON response with the ``application/problem+json`` media type."""

    media_type = PROBLEM_CONTENT_TYPE


def problem_errors(
    errors: Sequence[FieldError], pointer_base: str = "#"
) -> list[ProblemFieldError]:
    """facta's field errors as problem ``errors``, with JSON Pointers from ``pointer_base``."""
    return [
        ProblemFieldError(
            pointer=pointer_base + "".join(f"/{_escape(part)}" for part in error.location),
            location=error.location,
            detail=error.message,
            code=error.code,
        )
        for error in errors
    ]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI ``responses`` documenting problem answers, for a route's ``responses=``."""
    schema = problem_schema()
    return {
        status: {
            "description": _phrase(status),
            "content": {PROBLEM_CONTENT_TYPE: {"schema": schema}},
        }
        for status in statuses
    }


def problem_schema() -> dict[str, JsonValue]:
    """The JSON schema of ``Problem``, self-contained (a fresh copy each call)."""
    return copy.deepcopy(_problem_schema())


@functools.cache
def _problem_schema() -> dict[str, JsonValue]:
    """The JSON schema of ``Problem`` with its definitions inlined (no ``$defs``)."""
    schema = Problem.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: JsonValue) -> JsonValue:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return inline(definitions[reference.removeprefix("#/$defs/")])
        return {key: inline(value) for key, value in node.items()}

    inlined = inline(schema)
    assert isinstance(inlined, dict)
    return inlined


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error" if status >= 400 else "Status"


def _escape(part: str | int) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")
