"""Pipeline behaviors: what wraps the handling of each kind of message, and in what order.

The documented order, outermost first: commands — logging, validation, your behaviors
(in the order added), transaction; queries — logging, validation, yours; events —
logging, yours, transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import injector
import pydantic
import pytest

from facta import (
    Application,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEventHandler,
    FieldError,
    InMemoryStore,
    MessageKind,
    MessageValidationError,
    NextStep,
    NotFound,
    OperationContext,
    PipelineBehavior,
    Query,
    QueryHandler,
    UnitOfWork,
    ValueObject,
    parse_message,
)
from facta.application import LoggingBehavior, ValidationBehavior
from support.bank import (
    HANDLERS,
    Account,
    AccountOpened,
    Deposit,
    Journal,
    OpenAccount,
    Transfer,
)

ALL_KINDS = (MessageKind.COMMAND, MessageKind.QUERY, MessageKind.EVENT)
_trace = logging.getLogger("tests.pipeline")


@dataclass
class Trail:
    """What the behaviors of one application saw, in order."""

    entries: list[str] = field(default_factory=list)


class Amount(ValueObject):
    value: int = pydantic.Field(gt=0)


class Charge(Command[None]):
    account_id: str
    amount: int


class ChargeHandler(CommandHandler[Charge, None]):
    async def handle(self, command: Charge) -> None:
        Amount(value=command.amount)


class Balance(Query[int]):
    account_id: str


class BalanceHandler(QueryHandler[Balance, int]):
    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, query: Balance) -> int:
        return (await self.accounts.get(query.account_id)).balance


class OpenWhileAsking(Query[None]):
    account_id: str


class OpenWhileAskingHandler(QueryHandler[OpenWhileAsking, None]):
    """A query handler that (wrongly) changes state: queries are never committed."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, query: OpenWhileAsking) -> None:
        self.accounts.add(Account.open(query.account_id, "nobody"))


class OpenSavingsAccount(DomainEventHandler[AccountOpened]):
    """Opens a savings account beside every new current account."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.accounts = uow.repository(Account)

    async def handle(self, event: AccountOpened) -> None:
        if not event.aggregate_id.endswith("-savings"):
            self.accounts.add(Account.open(f"{event.aggregate_id}-savings", event.owner))


class Recording(PipelineBehavior):
    """Notes when the message enters and leaves it, in ``trail`` and in the log."""

    def __init__(self, name: str, trail: Trail) -> None:
        self.name = name
        self.trail = trail

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        self._note(f"{self.name} >")
        try:
            return await call_next()
        finally:
            self._note(f"{self.name} <")

    def _note(self, entry: str) -> None:
        self.trail.entries.append(entry)
        _trace.debug(entry)


class InjectedRecording(PipelineBehavior):
    """A behavior class: the container builds it with its typed dependencies."""

    def __init__(self, trail: Trail, store: InMemoryStore) -> None:
        self.trail = trail
        self.store = store

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        self.trail.entries.append(f"injected saw {type(message).__name__}")
        return await call_next()


class CommitObserver(PipelineBehavior):
    """Notes how many events were committed before and after the rest of the pipeline."""

    def __init__(self, trail: Trail, store: InMemoryStore) -> None:
        self.trail = trail
        self.store = store

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        before = len(self.store.events)
        result = await call_next()
        self.trail.entries.append(f"committed {before} -> {len(self.store.events)}")
        return result


class RaisesValidationError(PipelineBehavior):
    """A behavior that fails the way pydantic does, before the handler runs."""

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        Amount(value=0)
        return await call_next()


class ShortCircuit(PipelineBehavior):
    """Answers without calling the rest of the pipeline."""

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        return "answered by the behavior"


class HidesNotFound(PipelineBehavior):
    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        try:
            return await call_next()
        except NotFound as error:
            raise PermissionError(f"hidden: {type(error).__name__}") from error


@pytest.fixture
def trail() -> Trail:
    return Trail()


@pytest.fixture
def builder(trail: Trail) -> ApplicationBuilder:
    """The banking application on in-memory persistence, with the handlers of this module."""

    def bind(binder: injector.Binder) -> None:
        binder.bind(Trail, to=trail)
        binder.bind(Journal, to=Journal())

    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS, ChargeHandler, BalanceHandler, OpenWhileAskingHandler)
        .add_module(bind)
    )


async def _open_account(app: Application) -> None:
    await app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))


Action = Callable[[Application], Awaitable[object]]


async def _send_command(app: Application) -> object:
    return await app.mediator.send(Deposit(account_id="acc-1", amount=5))


async def _ask_query(app: Application) -> object:
    return await app.mediator.query(Balance(account_id="acc-1"))


async def _publish_event(app: Application) -> object:
    await app.mediator.publish(AccountOpened(owner="bob").with_metadata(aggregate_id="acc-2"))
    return None


KIND_ACTIONS = [
    pytest.param(MessageKind.COMMAND, _send_command, id="command"),
    pytest.param(MessageKind.QUERY, _ask_query, id="query"),
    pytest.param(MessageKind.EVENT, _publish_event, id="event"),
]

KIND_ACTION_NAMES = [
    pytest.param(MessageKind.COMMAND, _send_command, "Deposit", id="command"),
    pytest.param(MessageKind.QUERY, _ask_query, "Balance", id="query"),
    pytest.param(MessageKind.EVENT, _publish_event, "AccountOpened", id="event"),
]


@pytest.mark.parametrize(("kind", "action"), KIND_ACTIONS)
async def test_your_behaviors_run_in_the_order_added_the_first_outermost(
    builder: ApplicationBuilder, trail: Trail, kind: MessageKind, action: Action
) -> None:
    app = (
        builder.use_behavior(Recording("first", trail), on=[kind])
        .use_behavior(Recording("second", trail), on=[kind])
        .build()
    )
    await _open_account(app)
    trail.entries.clear()

    await action(app)

    assert trail.entries == ["first >", "second >", "second <", "first <"]


@pytest.mark.parametrize(("kind", "action", "name"), KIND_ACTION_NAMES)
async def test_the_logging_behavior_wraps_your_behaviors(
    builder: ApplicationBuilder,
    trail: Trail,
    caplog: pytest.LogCaptureFixture,
    kind: MessageKind,
    action: Action,
    name: str,
) -> None:
    app = builder.use_behavior(Recording("yours", trail), on=[kind]).build()
    await _open_account(app)
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    await action(app)

    order: list[str] = []
    for record in caplog.records:
        text = record.getMessage()
        if record.name == "tests.pipeline":
            order.append(text)
        elif text.startswith(f"handling {name} "):
            order.append("facta handling")
        elif text.startswith(f"handled {name} "):
            order.append("facta handled")
    assert order == ["facta handling", "yours >", "yours <", "facta handled"]


@pytest.mark.parametrize(
    ("kind", "action"),
    [
        pytest.param(MessageKind.COMMAND, _send_command, id="command"),
        pytest.param(MessageKind.QUERY, _ask_query, id="query"),
    ],
)
async def test_the_validation_behavior_wraps_your_behaviors_for_commands_and_queries(
    builder: ApplicationBuilder, kind: MessageKind, action: Action
) -> None:
    app = builder.use_behavior(RaisesValidationError, on=[kind]).build()

    with pytest.raises(MessageValidationError) as caught:
        await action(app)

    assert [error.location for error in caught.value.errors] == [("value",)]


async def test_events_are_not_wrapped_by_the_validation_behavior(
    builder: ApplicationBuilder,
) -> None:
    app = builder.use_behavior(RaisesValidationError, on=[MessageKind.EVENT]).build()

    report = await app.mediator.dispatch(AccountOpened(owner="bob"))

    assert report.failures
    assert all(isinstance(f.error, pydantic.ValidationError) for f in report.failures)


async def test_the_logging_behavior_wraps_the_validation_behavior(
    builder: ApplicationBuilder, caplog: pytest.LogCaptureFixture
) -> None:
    app = builder.build()
    caplog.set_level(logging.DEBUG, logger="facta.mediator")

    with pytest.raises(MessageValidationError):
        await app.mediator.send(Charge(account_id="acc-1", amount=0))

    failures = [r.getMessage() for r in caplog.records if " failed after " in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].startswith("Charge failed after ")
    assert "MessageValidationError" in failures[0]


async def test_the_transaction_commits_a_command_inside_your_behaviors(
    builder: ApplicationBuilder, trail: Trail
) -> None:
    app = builder.use_behavior(CommitObserver, on=[MessageKind.COMMAND]).build()

    await app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    assert trail.entries == ["committed 0 -> 1"]


async def test_the_transaction_commits_an_event_handler_inside_your_behaviors(
    trail: Trail,
) -> None:
    app = (
        ApplicationBuilder()
        .add_handler(OpenSavingsAccount)
        .add_module(lambda binder: binder.bind(Trail, to=trail))
        .use_behavior(CommitObserver, on=[MessageKind.EVENT])
        .build()
    )

    await app.mediator.publish(AccountOpened(owner="alice").with_metadata(aggregate_id="acc-1"))

    assert app.get(InMemoryStore).state("Account", "acc-1-savings") is not None
    assert trail.entries[-1] == "committed 0 -> 1"


async def test_a_query_is_never_committed(builder: ApplicationBuilder) -> None:
    app = builder.build()

    await app.mediator.query(OpenWhileAsking(account_id="acc-9"))

    store = app.get(InMemoryStore)
    assert store.state("Account", "acc-9") is None
    assert store.events == ()


@pytest.mark.parametrize(
    ("registered_for", "action", "runs"),
    [
        pytest.param(MessageKind.COMMAND, _ask_query, False, id="command-behavior-on-query"),
        pytest.param(MessageKind.COMMAND, _publish_event, False, id="command-behavior-on-event"),
        pytest.param(MessageKind.QUERY, _send_command, False, id="query-behavior-on-command"),
        pytest.param(
            MessageKind.EVENT, _send_command, True, id="event-behavior-on-the-commands-events"
        ),
    ],
)
async def test_a_behavior_runs_only_for_the_kinds_it_was_registered_for(
    builder: ApplicationBuilder,
    trail: Trail,
    registered_for: MessageKind,
    action: Action,
    runs: bool,
) -> None:
    app = builder.use_behavior(Recording("yours", trail), on=[registered_for]).build()
    await _open_account(app)
    trail.entries.clear()

    await action(app)

    # a command's events are dispatched while it commits, so event behaviors see them
    assert ("yours >" in trail.entries) is runs


async def test_a_behavior_class_is_built_with_its_constructor_dependencies(
    builder: ApplicationBuilder, trail: Trail
) -> None:
    app = builder.use_behavior(InjectedRecording, on=ALL_KINDS).build()

    await _open_account(app)

    assert trail.entries == ["injected saw OpenAccount", "injected saw AccountOpened"]


async def test_a_behavior_may_answer_without_calling_the_handler(
    builder: ApplicationBuilder,
) -> None:
    app = builder.use_behavior(ShortCircuit(), on=[MessageKind.COMMAND]).build()

    result = await app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    assert result == "answered by the behavior"
    assert app.get(InMemoryStore).events == ()


async def test_a_behavior_may_translate_the_errors_of_the_handler(
    builder: ApplicationBuilder,
) -> None:
    app = builder.use_behavior(HidesNotFound(), on=[MessageKind.QUERY]).build()

    with pytest.raises(PermissionError, match="hidden: NotFound"):
        await app.mediator.query(Balance(account_id="nobody"))


async def test_a_validation_error_in_a_handler_becomes_a_message_validation_error(
    builder: ApplicationBuilder,
) -> None:
    app = builder.build()

    with pytest.raises(MessageValidationError) as caught:
        await app.mediator.send(Charge(account_id="acc-1", amount=-5))

    error = caught.value
    assert error.message_type == "Charge"
    assert error.errors == (
        FieldError(
            location=("value",),
            message="Input should be greater than 0",
            code="greater_than",
        ),
    )
    assert isinstance(error.__cause__, pydantic.ValidationError)


async def test_the_validation_behavior_lets_other_errors_through() -> None:
    async def fails() -> object:
        raise LookupError("not a validation problem")

    with pytest.raises(LookupError):
        await ValidationBehavior().handle(Charge(account_id="a", amount=1), _context(), fails)


def test_parse_message_builds_the_message_from_valid_input() -> None:
    assert parse_message(Deposit, {"account_id": "acc-1", "amount": "5"}) == Deposit(
        account_id="acc-1", amount=5
    )


def test_parse_message_lists_every_invalid_field() -> None:
    with pytest.raises(MessageValidationError) as caught:
        parse_message(Transfer, {"source": 1, "amount": "lots", "note": "hi"})

    error = caught.value
    assert error.message_type == "Transfer"
    assert {(e.location, e.code) for e in error.errors} == {
        (("source",), "string_type"),
        (("target",), "missing"),
        (("amount",), "int_parsing"),
        (("note",), "extra_forbidden"),
    }


def test_a_message_validation_error_names_each_invalid_field_in_its_text() -> None:
    with pytest.raises(MessageValidationError) as caught:
        parse_message(Transfer, {"source": "a", "target": "b", "amount": "lots"})

    assert str(caught.value).startswith("invalid Transfer: amount: Input should be a valid int")


@pytest.fixture
def bank_app(builder: ApplicationBuilder) -> Application:
    return builder.build()


async def test_the_logging_behavior_logs_each_handled_message_at_debug(
    bank_app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="facta.mediator")

    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    messages = [r.getMessage() for r in caplog.records if r.name == "facta.mediator"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "facta.mediator")
    assert messages[0].startswith("handling OpenAccount (correlation ")
    assert messages[-1].startswith("handled OpenAccount in ")
    assert messages[-1].endswith(" ms")


async def test_the_logging_behavior_logs_a_failure_with_its_error(
    bank_app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="facta.mediator")

    with pytest.raises(NotFound):
        await bank_app.mediator.send(Deposit(account_id="nobody", amount=1))

    last = [r.getMessage() for r in caplog.records if r.name == "facta.mediator"][-1]
    assert last.startswith("Deposit failed after ")
    assert "NotFound" in last


async def test_the_logging_behavior_logs_nothing_when_debug_is_off(
    bank_app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="facta.mediator")

    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    assert [r for r in caplog.records if r.name == "facta.mediator"] == []


class _Unprintable:
    """Fails the test if anyone turns it into text."""

    def __repr__(self) -> str:
        raise AssertionError("formatted for a log nobody reads")

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        raise AssertionError("formatted for a log nobody reads")


class _CountingLogger(logging.Logger):
    def __init__(self, level: int) -> None:
        super().__init__("tests.counting", level)
        self.records_made = 0

    def makeRecord(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        self.records_made += 1
        return super().makeRecord(*args, **kwargs)


def _context(correlation_id: Any = None) -> OperationContext:
    message_id = uuid4()
    return OperationContext(
        message=None,
        message_id=message_id,
        correlation_id=correlation_id or message_id,
        causation_id=None,
        chain=("Test",),
    )


async def test_a_logging_behavior_whose_level_is_off_builds_no_record_and_no_text() -> None:
    logger = _CountingLogger(logging.INFO)
    behavior = LoggingBehavior(logger, level=logging.DEBUG)

    async def handler() -> object:
        return "handled"

    result = await behavior.handle(_Unprintable(), _context(_Unprintable()), handler)

    assert result == "handled"
    assert logger.records_made == 0


async def test_a_logging_behavior_logs_at_the_level_it_was_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("tests.pipeline.custom")
    behavior = LoggingBehavior(logger, level=logging.INFO)
    caplog.set_level(logging.INFO, logger="tests.pipeline.custom")

    async def handler() -> object:
        return "handled"

    await behavior.handle(Charge(account_id="a", amount=1), _context(), handler)

    assert [(r.levelno, r.getMessage().split()[0]) for r in caplog.records] == [
        (logging.INFO, "handling"),
        (logging.INFO, "handled"),
    ]
