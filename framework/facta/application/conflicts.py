"""Retrying commands that lost a race: an opt-in, bounded policy for ``ConcurrencyError``.

Two commands that change one aggregate at once cannot both commit: the second gets a
``ConcurrencyError`` and nothing of it is written. Often the right answer is to run it
again on the state the first one left (registering a customer that another order just
registered is then a no-op). A ``ConflictRetry`` says how: the mediator re-runs the
*whole* handler, in a fresh operation with a fresh unit of work, after a jittered
backoff, at most ``attempts`` times in all; a conflict that remains is raised.

Give the policy to a command class (``retry_on_conflict``) or to the builder
(``ApplicationBuilder.retry_conflicts``). Queries never conflict and event handlers are
retried by the outbox, so the policy is for commands only.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from facta.errors import ConcurrencyError

__all__ = ["ConflictRetry"]

R = TypeVar("R")

_log = logging.getLogger("facta.conflicts")


@dataclass(frozen=True, slots=True)
class ConflictRetry:
    """How a command that lost a race (``ConcurrencyError``) is run again.

    At most ``attempts`` runs in all (the first included). Before the n-th retry it waits
    ``first_delay * factor**(n-1)``, at most ``max_delay``, times a random factor between
    ``1 - jitter`` and 1, so that the racers spread out instead of colliding again.
    """

    attempts: int = 5
    first_delay: timedelta = timedelta(milliseconds=5)
    factor: float = 2.0
    max_delay: timedelta = timedelta(milliseconds=200)
    jitter: float = 1.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError("factor must be >= 1 and jitter in [0, 1]")

    def delay(self, retry: int) -> float:
        """The seconds to wait before the ``retry``-th retry (1 for the first)."""
        base = min(
            self.first_delay.total_seconds() * self.factor ** max(0, retry - 1),
            self.max_delay.total_seconds(),
        )
        return base * (1 - self.jitter * random.random())

    async def run(self, attempt: Callable[[], Awaitable[R]], name: str) -> R:
        """Run ``attempt`` until it does not raise ``ConcurrencyError``, or the attempts
        are spent (the last conflict is then raised). Each retry is logged."""
        for retry in range(1, self.attempts):
            try:
                return await attempt()
            except ConcurrencyError as conflict:
                delay = self.delay(retry)
                _log.info(
                    "%s lost a race (%s); running it again in %.0f ms (retry %d of %d)",
                    name,
                    conflict,
                    delay * 1000,
                    retry,
                    self.attempts - 1,
                )
                await asyncio.sleep(delay)
        try:
            return await attempt()
        except ConcurrencyError as conflict:
            _log.warning("%s still conflicts after %d attempts: %s", name, self.attempts, conflict)
            conflict.add_note(f"{name} was run {self.attempts} times; every run conflicted")
            raise
