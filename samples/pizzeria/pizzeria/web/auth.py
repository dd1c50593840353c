"""Who may do what over HTTP: bearer tokens from the settings, two roles.

| role | token (``PizzeriaSettings``) | may |
|---|---|---|
| manager | ``manager_token`` | change the menu, and everything the staff may |
| staff | ``staff_token`` | start cooking, mark ready, dispatch, deliver |
| anyone | none | read (menu, orders, kitchen, customers), place and cancel orders |

Cancelling is public: a customer cancels their own order by its id, which cannot be
guessed, and the domain refuses once the order is ready. With a staff or manager token
the order's history says the counter cancelled it, otherwise the customer.

No token where one is needed is a 401 with ``WWW-Authenticate: Bearer``; an unknown token
is a 401 anywhere, even where none is needed; a known token without the right is a 403.
All three answer ``application/problem+json``. Tokens are compared in constant time.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from facta.hosting.web.application import application_of
from pizzeria.settings import PizzeriaSettings

__all__ = [
    "BEARER",
    "OPTIONAL_BEARER",
    "Caller",
    "ManagerDep",
    "Role",
    "StaffDep",
    "caller",
    "requires",
]


class Role(enum.StrEnum):
    """What a token allows."""

    MANAGER = "manager"
    STAFF = "staff"


BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description=(
        "`Authorization: Bearer <token>`: the manager's token (`PIZZERIA_MANAGER_TOKEN`) for "
        "the menu, the staff's (`PIZZERIA_STAFF_TOKEN`) or the manager's for the kitchen and "
        "delivery transitions."
    ),
)
"""The security scheme OpenAPI shows; it reads the token without refusing by itself."""

OPTIONAL_BEARER: dict[str, object] = {"security": [{}]}
"""``openapi_extra`` for a route where the token is optional: FastAPI lists the bearer
requirement of its dependency, and this adds OpenAPI's empty one, "or none"."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)]


def _role_of(token: str, settings: PizzeriaSettings) -> Role | None:
    given = token.encode()
    manager = secrets.compare_digest(given, settings.manager_token.get_secret_value().encode())
    staff = secrets.compare_digest(given, settings.staff_token.get_secret_value().encode())
    return Role.MANAGER if manager else Role.STAFF if staff else None


def _unauthorized(detail: str, error: str | None = None) -> HTTPException:
    challenge = 'Bearer realm="pizzeria"'
    if error is not None:
        challenge += f', error="{error}"'
    return HTTPException(401, detail, headers={"WWW-Authenticate": challenge})


async def caller(request: Request, credentials: Credentials) -> Role | None:
    """The role of the request's bearer token; None without one; 401 for an unknown token."""
    if credentials is None:
        if "authorization" in request.headers:
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        return None
    role = _role_of(credentials.credentials, application_of(request).get(PizzeriaSettings))
    if role is None:
        raise _unauthorized("the bearer token is not valid", "invalid_token")
    return role


Caller = Annotated[Role | None, Depends(caller)]
"""A route parameter with the caller's role, None for an anonymous caller."""


def requires(*allowed: Role) -> Callable[[Role | None], Awaitable[Role]]:
    """A dependency that lets only callers with one of the ``allowed`` roles through."""
    names = " or ".join(role.value for role in allowed)

    async def check(role: Caller) -> Role:
        if role is None:
            raise _unauthorized(f"this needs the {names} token as 'Authorization: Bearer'")
        if role not in allowed:
            raise HTTPException(403, f"the {role.value} token may not do this; it needs {names}")
        return role

    return check


ManagerDep = Annotated[Role, Depends(requires(Role.MANAGER))]
"""A route parameter that admits only the manager."""

StaffDep = Annotated[Role, Depends(requires(Role.STAFF, Role.MANAGER))]
"""A route parameter that admits the staff and the manager."""
