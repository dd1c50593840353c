"""Commands that lost a race run again, whole, in a fresh unit of work, when they opt in."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar

import injector
import pytest

from facta import (
    ApplicationBuilder,
    Command,
    CommandHandler,
    ConcurrencyError,
    ConflictRetry,
    UnitOfWork,
)

QUICK = ConflictRetry(attempts=3, first_delay=timedelta(0))


@dataclass
class Runs:
    """Each run of the racing handler, with the unit of work it got."""

    units_of_work: list[UnitOfWork] = field(default_factory=list)
    losses: int = 0


class Register(Command[int]):
    pass


class PoliteRegister(Command[int]):
    retry_on_conflict: ClassVar[ConflictRetry] = QUICK


class Racer:
    """Loses the first ``runs.losses`` races, then wins; answers how many runs it took."""

    def __init__(self, unit_of_work: UnitOfWork, runs: Runs) -> None:
        self.unit_of_work = unit_of_work
        self.runs = runs

    async def handle(self, command: Command[int]) -> int:
        self.runs.units_of_work.append(self.unit_of_work)
        if len(self.runs.units_of_work) <= self.runs.losses:
            raise ConcurrencyError("Customer", "+390815550199", 0, 1)
        return len(self.runs.units_of_work)


class RegisterHandler(Racer, CommandHandler[Register, int]):
    async def handle(self, command: Register) -> int:
        return await super().handle(command)


class PoliteRegisterHandler(Racer, CommandHandler[PoliteRegister, int]):
    async def handle(self, command: PoliteRegister) -> int:
        return await super().handle(command)


@pytest.fixture
def runs() -> Runs:
    return Runs()


def builder(runs: Runs) -> ApplicationBuilder:
    def bind(binder: injector.Binder) -> None:
        binder.bind(Runs, to=runs)

    return ApplicationBuilder().add_handler(RegisterHandler, PoliteRegisterHandler).add_module(bind)


async def test_a_command_that_opted_in_runs_again_until_it_wins(
    runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    runs.losses = 2
    app = builder(runs).build()

    with caplog.at_level(logging.INFO, logger="facta.conflicts"):
        assert await app.mediator.send(PoliteRegister()) == 3

    assert [record.getMessage()[:34] for record in caplog.records] == [
        "PoliteRegister lost a race (Custom"
    ] * 2


async def test_each_run_has_a_fresh_unit_of_work(runs: Runs) -> None:
    runs.losses = 2
    app = builder(runs).build()

    await app.mediator.send(PoliteRegister())

    assert len({id(unit_of_work) for unit_of_work in runs.units_of_work}) == 3


async def test_a_conflict_that_outlasts_the_attempts_is_raised(
    runs: Runs, caplog: pytest.LogCaptureFixture
) -> None:
    runs.losses = 10
    app = builder(runs).build()

    with pytest.raises(ConcurrencyError) as raised:
        await app.mediator.send(PoliteRegister())

    assert len(runs.units_of_work) == 3
    assert raised.value.__notes__ == ["PoliteRegister was run 3 times; every run conflicted"]
    assert "PoliteRegister still conflicts after 3 attempts" in caplog.text


async def test_a_command_that_did_not_opt_in_is_not_retried(runs: Runs) -> None:
    runs.losses = 1
    app = builder(runs).build()

    with pytest.raises(ConcurrencyError):
        await app.mediator.send(Register())

    assert len(runs.units_of_work) == 1


@pytest.mark.parametrize(
    "commands",
    [pytest.param((Register,), id="for-one-command"), pytest.param((), id="for-every-command")],
)
async def test_the_builder_gives_commands_a_policy(
    runs: Runs, commands: tuple[type[Command[int]], ...]
) -> None:
    runs.losses = 1
    app = builder(runs).retry_conflicts(QUICK, *commands).build()

    assert await app.mediator.send(Register()) == 2


async def test_a_command_classs_own_policy_wins_over_the_builders(runs: Runs) -> None:
    runs.losses = 2
    app = builder(runs).retry_conflicts(ConflictRetry(attempts=1)).build()

    assert await app.mediator.send(PoliteRegister()) == 3


@pytest.mark.parametrize(
    ("retry", "low", "high"),
    [
        pytest.param(1, 0.0, 0.005, id="first"),
        pytest.param(3, 0.0, 0.020, id="third"),
        pytest.param(30, 0.0, 0.200, id="capped"),
    ],
)
def test_the_backoff_grows_is_capped_and_is_jittered_below_it(
    retry: int, low: float, high: float
) -> None:
    delays = {ConflictRetry().delay(retry) for _ in range(50)}

    assert all(low <= delay <= high for delay in delays)
    assert len(delays) > 1
    assert ConflictRetry(jitter=0).delay(retry) == pytest.approx(high)
