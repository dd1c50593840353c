"""Timing helpers shared by the benchmarks: best-of-N rounds, to keep a shared machine's
noise out of the figures.

A round runs one body a fixed number of times back to back; the best (fastest) round is
the one least disturbed by other work, so it is the figure reported.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Mapping

__all__ = ["best_of", "interleaved_best_of", "time_round"]

Body = Callable[[], Awaitable[object]]
"""One call of what is measured; a body that needs varying input keeps its own cursor."""


async def time_round(iterations: int, body: Body) -> float:
    """Seconds per call of one round of ``iterations`` calls of ``body``.

    A full collection runs first, so garbage left by an earlier round is not paid here.
    """
    gc.collect()
    started = time.perf_counter()
    for _ in range(iterations):
        await body()
    return (time.perf_counter() - started) / iterations


async def best_of(rounds: int, iterations: int, body: Body) -> float:
    """The best per-call time, in microseconds, of ``rounds`` runs of ``iterations`` calls."""
    return min([await time_round(iterations, body) for _ in range(rounds)]) * 1e6


async def interleaved_best_of(
    rounds: int, iterations: int, bodies: Mapping[str, Body]
) -> dict[str, float]:
    """The best per-call time, in seconds, of each of ``bodies``, their rounds interleaved.

    Round ``r`` runs every body once, in turn, starting with a different one each round,
    so a slow spell of the machine (or of the database: a checkpoint, a vacuum) hits all
    of them alike instead of whichever happened to run then.
    """
    names = list(bodies)
    best = dict.fromkeys(names, float("inf"))
    for round_number in range(rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            best[name] = min(best[name], await time_round(iterations, bodies[name]))
    return best
