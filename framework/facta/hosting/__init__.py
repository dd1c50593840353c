"""The hosting layer: composing an application and running it with its services.

Hosting may use every other layer; web hosting (FastAPI) comes with the ``web`` extra.
"""

import typing

from facta import _lazy

if typing.TYPE_CHECKING:
    from facta.hosting.application import Application
    from facta.hosting.builder import ApplicationBuilder
    from facta.hosting.health import CheckResult, HealthReport, Readiness
    from facta.hosting.logs import LOG_FORMAT, LogContext
    from facta.hosting.services import BackgroundService
else:
    __getattr__, __dir__ = _lazy.lazy_exports(
        globals(),
        {
            "facta.hosting.application": ("Application",),
            "facta.hosting.builder": ("ApplicationBuilder",),
            "facta.hosting.health": ("CheckResult", "HealthReport", "Readiness"),
            "facta.hosting.logs": ("LOG_FORMAT", "LogContext"),
            "facta.hosting.services": ("BackgroundService",),
        },
    )

__all__ = [
    "LOG_FORMAT",
    "Application",
    "ApplicationBuilder",
    "BackgroundService",
    "CheckResult",
    "HealthReport",
    "LogContext",
    "Readiness",
]
