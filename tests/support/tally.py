"""Durable side effects for the crash and relay tests: one ``Tally`` row per handled event.

A handler that writes a ``Tally`` through its unit of work commits it with its receipt,
so after any crash the number of tallies tells exactly how often handlers succeeded.
"""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import injector

from facta import (
    AggregateRoot,
    ApplicationBuilder,
    DeliverySettings,
    DomainEventHandler,
    OutboxRelay,
    RetryPolicy,
    UnitOfWork,
)
from support.bank import HANDLERS as BANK_HANDLERS
from support.bank import Journal, MoneyDeposited


class Tally(AggregateRoot):
    """That one handler handled one event (id = handler:event id)."""

    handler: str
    event_id: str
    pid: int


class TallyDeposits(DomainEventHandler[MoneyDeposited]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.tallies = uow.repository(Tally)

    async def handle(self, event: MoneyDeposited) -> None:
        self.tallies.add(
            Tally(
                id=f"tally:{event.event_id}",
                handler="tally",
                event_id=str(event.event_id),
                pid=os.getpid(),
            )
        )


class TimedDeposits(DomainEventHandler[MoneyDeposited]):
    """Logs when it starts and ends each event, to find overlapping runs across processes."""

    async def handle(self, event: MoneyDeposited) -> None:
        log = Path(os.environ["FACTA_TIMING_LOG"])
        started = time.monotonic()
        time.sleep(0.002)  # long enough that two concurrent runs would overlap
        with log.open("a") as out:
            out.write(f"{event.event_id} {started} {time.monotonic()} {os.getpid()}\n")


FAST_RETRIES = DeliverySettings(
    retry=RetryPolicy(max_attempts=5, first_delay=timedelta(0), jitter=0),
    grace=timedelta(0),
    lease=timedelta(seconds=30),
    batch_size=20,
)


def tally_builder(persistence: injector.Module, *extra: type[object]) -> ApplicationBuilder:
    """The bank with tallying (and any extra) handlers, a relay, and no grace period."""
    journal = Journal()

    def bind(binder: injector.Binder) -> None:
        binder.bind(Journal, to=journal)

    return (
        ApplicationBuilder()
        .add_handler(*BANK_HANDLERS, TallyDeposits, *extra)
        .add_module(bind)
        .use_persistence(persistence)
        .delivery(FAST_RETRIES)
        .add_service(OutboxRelay)
    )
