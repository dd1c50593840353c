"""Health: whether an application is alive, and whether it is ready to take work.

*Liveness* is the process answering at all. *Readiness* asks what the application needs:

- the database answers (the outbox is read: its oldest undelivered event);
- each broker connection answers: every background service or publisher with a
  ``connected`` property (``AmqpPublisher``, ``AmqpConsumer``) is connected;
- the relay is not further behind than ``max_relay_lag``: the oldest undelivered event
  is younger than that (a handler failing over and over keeps it old until the event is
  dead-lettered, so choose a lag longer than your retry policy's first delays);
- and any check of your own: an ``async`` function that raises when not ready.

Each check has ``timeout`` seconds. ``facta.hosting.web`` serves the answer on
``/health/live`` and ``/health/ready`` (503 when not ready), for Kubernetes' probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from facta.domain import utc_now

if TYPE_CHECKING:
    from facta.hosting.application import Application

__all__ = ["CheckResult", "HealthCheck", "HealthReport", "Readiness"]

HealthCheck = Callable[[], Awaitable[object]]
"""A check of your own: returns when all is well, raises (with the reason) when not."""


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One check's answer: ``up`` or not, and why."""

    name: str
    up: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Every check's answer; ready when all are up."""

    checks: tuple[CheckResult, ...]

    @property
    def ready(self) -> bool:
        """True when every check is up."""
        return all(check.up for check in self.checks)

    def as_json(self) -> dict[str, object]:
        """The report as a JSON document: ``status`` and each check's status and detail."""
        return {
            "status": "ready" if self.ready else "unready",
            "checks": {
                check.name: {"status": "up" if check.up else "down", "detail": check.detail}
                for check in self.checks
            },
        }


@dataclass(frozen=True)
class Readiness:
    """What makes an application ready (see the module's docstring)."""

    max_relay_lag: timedelta | None = None
    timeout: float = 2.0
    checks: Mapping[str, HealthCheck] = field(default_factory=dict)

    async def check(self, application: Application) -> HealthReport:
        """Run every check, concurrently, each within ``timeout`` seconds."""
        database, *others = await asyncio.gather(
            self._database(application),
            *(self._custom(name, check) for name, check in self.checks.items()),
        )
        connections = [_connection(name, service) for name, service in _connections(application)]
        return HealthReport((*database, *connections, *(one for some in others for one in some)))

    async def _database(self, application: Application) -> list[CheckResult]:
        try:
            async with asyncio.timeout(self.timeout):
                oldest = await application.outbox.pending(1)
        except TimeoutError:
            return [CheckResult("database", False, f"no answer within {self.timeout:g} s")]
        except Exception as error:
            return [CheckResult("database", False, _describe(error))]
        results = [CheckResult("database", True)]
        if self.max_relay_lag is not None:
            lag = utc_now() - oldest[0].event.occurred_at if oldest else timedelta(0)
            behind = lag > self.max_relay_lag
            detail = f"oldest undelivered event {lag.total_seconds():.1f} s old"
            if behind:
                detail += f", more than {self.max_relay_lag.total_seconds():g} s"
            results.append(CheckResult("relay", not behind, detail))
        return results

    async def _custom(self, name: str, check: HealthCheck) -> list[CheckResult]:
        try:
            async with asyncio.timeout(self.timeout):
                await check()
        except TimeoutError:
            return [CheckResult(name, False, f"no answer within {self.timeout:g} s")]
        except Exception as error:
            return [CheckResult(name, False, _describe(error))]
        return [CheckResult(name, True)]


def _connections(application: Application) -> list[tuple[str, object]]:
    """The services and publishers that hold a connection (a ``connected`` property)."""
    from facta.integration.publishers import Publisher

    candidates: list[object] = list(application.services)
    if application.container.binder.has_explicit_binding_for(Publisher):
        candidates.append(application.get(Publisher))  # type: ignore[type-abstract]
    found: list[tuple[str, object]] = []
    seen: set[int] = set()
    for candidate in candidates:
        inner = getattr(candidate, "_publisher", candidate)  # a circuit breaker's publisher
        if id(inner) in seen or not isinstance(getattr(inner, "connected", None), bool):
            continue
        seen.add(id(inner))
        found.append((_name(inner, found), inner))
    return found


def _name(service: object, found: Sequence[tuple[str, object]]) -> str:
    base = type(service).__name__
    target = getattr(service, "queue", None) or getattr(service, "exchange", None)
    name = f"{base} {target}" if isinstance(target, str) else base
    taken = {existing for existing, _ in found}
    suffix = 2
    unique = name
    while unique in taken:
        unique, suffix = f"{name} ({suffix})", suffix + 1
    return unique


def _connection(name: str, service: object) -> CheckResult:
    connected = bool(getattr(service, "connected", False))
    return CheckResult(name, connected, "connected" if connected else "not connected")


def _describe(error: Exception) -> str:
    text = f"{type(error).__name__}: {error}".strip()
    return text if len(text) <= 300 else text[:297] + "..."
