"""Web hosting with FastAPI (``pip install facta[web]``).

``web_app(application)`` serves a facta application (lifespan, per-request operations,
errors as problem+json); ``cloudevents_router(app)`` receives CloudEvents over HTTP for
an application's integration event handlers; ``Problem`` answers errors as
``application/problem+json`` (RFC 9457).
"""

try:
    import fastapi  # noqa: F401
    import starlette  # noqa: F401
except ImportError as missing:  # pragma: no cover - exercised in a venv without the extra
    from facta.errors import MissingExtra

    raise MissingExtra("web", missing.name or "fastapi") from missing

from facta.hosting.web.application import (
    CONFLICT,
    VALIDATION,
    ApplicationDep,
    MediatorDep,
    application_of,
    install_problem_handlers,
    web_app,
)
from facta.hosting.web.cloudevents import (
    DEFAULT_MAX_BODY_SIZE,
    IngestedEvent,
    IngestionSummary,
    cloudevents_router,
)
from facta.hosting.web.problems import (
    PROBLEM_CONTENT_TYPE,
    Problem,
    ProblemFieldError,
    ProblemResponse,
    problem_errors,
    problem_responses,
)

__all__ = [
    "CONFLICT",
    "DEFAULT_MAX_BODY_SIZE",
    "PROBLEM_CONTENT_TYPE",
    "VALIDATION",
    "ApplicationDep",
    "IngestedEvent",
    "IngestionSummary",
    "MediatorDep",
    "Problem",
    "ProblemFieldError",
    "ProblemResponse",
    "application_of",
    "cloudevents_router",
    "install_problem_handlers",
    "problem_errors",
    "problem_responses",
    "web_app",
]
