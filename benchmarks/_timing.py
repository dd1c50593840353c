"""Timing helpers shared by the benchmarks: best-of-N rounds, to keep a shared machine's
noise out of the figures.

A round runs one body a fixed number of times back to back; the best (fastest) round is
the one least disturbed by other work, so it is the figure reported.

Rounds are timed by wall clock (``time.perf_counter``) unless a ``clock`` is given. Wall
clock is right for bodies that wait on a database or the network: the waiting is part of
the cost. For a body that only computes (the in-memory benchmarks), pass ``CPU_TIME``:
the CPU time of this process does not count the time the scheduler gives to other
processes, so a loaded machine inflates it far less than the wall clock.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable, Mapping

__all__ = [
    "CPU_TIME",
    "WALL_CLOCK",
    "Body",
    "Clock",
    "best_of",
    "interleaved_best_of",
    "time_round",
]

Body = Callable[[], Awaitable[object]]
"""One call of what is measured; a body that needs varying input keeps its own cursor."""

Clock = Callable[[], float]
"""A clock in seconds: ``WALL_CLOCK`` or ``CPU_TIME``."""

WALL_CLOCK: Clock = time.perf_counter
"""Elapsed real time: for bodies that wait (databases, brokers)."""

CPU_TIME: Clock = time.process_time
"""CPU time of this process (user + system, all threads): for bodies that only compute."""


async def time_round(iterations: int, body: Body, clock: Clock = WALL_CLOCK) -> float:
    """Seconds per call, by ``clock``, of one round of ``iterations`` calls of ``body``.

    A full collection runs first, so garbage left by an earlier round is not paid here.
    """
    gc.collect()
    started = clock()
    for _ in range(iterations):
        await body()
    return (clock() - started) / iterations


async def best_of(rounds: int, iterations: int, body: Body, clock: Clock = WALL_CLOCK) -> float:
    """The best per-call time, in microseconds, of ``rounds`` runs of ``iterations`` calls."""
    return min([await time_round(iterations, body, clock) for _ in range(rounds)]) * 1e6


async def interleaved_best_of(
    rounds: int, iterations: int, bodies: Mapping[str, Body], clock: Clock = WALL_CLOCK
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
            best[name] = min(best[name], await time_round(iterations, bodies[name], clock))
    return best
