"""The hosting layer: composing an application and running it with its services.

Hosting may use every other layer; web hosting (FastAPI) comes with the ``web`` extra.
"""

from facta.hosting.application import Application
from facta.hosting.builder import ApplicationBuilder
from facta.hosting.health import CheckResult, HealthReport, Readiness
from facta.hosting.logs import LOG_FORMAT, LogContext
from facta.hosting.services import BackgroundService

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
