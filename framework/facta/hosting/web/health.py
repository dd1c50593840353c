"""The health endpoints of the web hosting: ``/health/live`` and ``/health/ready``.

Liveness answers 200 as long as the process serves requests; readiness runs the
application's ``Readiness`` checks and answers 200 when all are up, 503 when one is down,
with each check's status and reason in the body (``facta.hosting.health``). Neither is
in the OpenAPI schema.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from facta.hosting.health import Readiness

__all__ = ["health_router"]


def health_router(readiness: Readiness, prefix: str = "/health") -> APIRouter:
    """The routes ``{prefix}/live`` and ``{prefix}/ready`` for ``readiness``."""
    router = APIRouter(prefix=prefix, include_in_schema=False)

    @router.get("/live")
    async def live() -> JSONResponse:
        return JSONResponse({"status": "alive"})

    @router.get("/ready")
    async def ready(request: Request) -> JSONResponse:
        report = await readiness.check(request.app.state.facta)
        return JSONResponse(
            report.as_json(),
            status_code=200 if report.ready else 503,
            headers={"cache-control": "no-store"},
        )

    return router
