"""The operation scope: one DI scope per message, async-safe, closed when it ends.

And the operation context: correlation and causation ids that tie a chain of messages.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import injector
import pytest

from facta import (
    Application,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DomainEventHandler,
    InMemoryStore,
    Mediator,
    MessageKind,
    NextStep,
    OperationContext,
    OutsideOperation,
    PipelineBehavior,
    operation_scope,
)
from support.bank import HANDLERS, AccountOpened, Deposit, Journal, OpenAccount

_serials = itertools.count(1)


@dataclass
class Closed:
    """The serial numbers of the sessions closed in one application, in order."""

    serials: list[int] = field(default_factory=list)


class Session:
    """A resource bound to the operation scope, closed when its operation ends."""

    @injector.inject
    def __init__(self, closed: Closed) -> None:
        self.serial = next(_serials)
        self.closed = closed
        self.is_closed = False

    async def aclose(self) -> None:
        self.is_closed = True
        self.closed.serials.append(self.serial)


class Gateway:
    """A service that depends on the session (built by injector, hence ``@inject``)."""

    @injector.inject
    def __init__(self, session: Session) -> None:
        self.session = session


@dataclass(frozen=True)
class Seen:
    handler_session: Session
    gateway_session: Session
    session_after_awaiting: Session


class UseSession(Command[Seen]):
    fail: bool = False


class UseSessionHandler(CommandHandler[UseSession, Seen]):
    def __init__(self, session: Session, gateway: Gateway, container: injector.Injector) -> None:
        self.session = session
        self.gateway = gateway
        self.container = container

    async def handle(self, command: UseSession) -> Seen:
        for _ in range(3):
            await asyncio.sleep(0)
        if command.fail:
            raise RuntimeError("the handler failed")
        return Seen(self.session, self.gateway.session, self.container.get(Session))


@dataclass
class Contexts:
    """The operation context of every message handled, in order."""

    seen: list[OperationContext] = field(default_factory=list)

    def of(self, message_name: str) -> OperationContext:
        (found,) = [c for c in self.seen if type(c.message).__name__ == message_name]
        return found


class ContextRecorder(PipelineBehavior):
    def __init__(self, contexts: Contexts) -> None:
        self.contexts = contexts

    async def handle(
        self, message: object, context: OperationContext, call_next: NextStep
    ) -> object:
        self.contexts.seen.append(context)
        return await call_next()


class WelcomeBonus(DomainEventHandler[AccountOpened]):
    """Credits every new account: an event handler that sends a command."""

    def __init__(self, mediator: Mediator) -> None:
        self.mediator = mediator

    async def handle(self, event: AccountOpened) -> None:
        await self.mediator.send(Deposit(account_id=event.aggregate_id, amount=10))


class ContextEcho(Command[OperationContext]):
    pass


class ContextEchoHandler(CommandHandler[ContextEcho, OperationContext]):
    def __init__(self, context: OperationContext) -> None:
        self.context = context

    async def handle(self, command: ContextEcho) -> OperationContext:
        return self.context


@pytest.fixture
def closed() -> Closed:
    return Closed()


@pytest.fixture
def app(closed: Closed) -> Application:
    def bind(binder: injector.Binder) -> None:
        binder.bind(Closed, to=closed)
        binder.bind(Session, scope=operation_scope)

    return ApplicationBuilder().add_handler(UseSessionHandler).add_module(bind).build()


@pytest.fixture
def contexts() -> Contexts:
    return Contexts()


@pytest.fixture
def bank_app(contexts: Contexts) -> Application:
    """The banking application whose every operation context is recorded."""

    def bind(binder: injector.Binder) -> None:
        binder.bind(Contexts, to=contexts)
        binder.bind(Journal, to=Journal())

    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS, ContextEchoHandler)
        .add_module(bind)
        .use_behavior(ContextRecorder, on=list(MessageKind))
        .build()
    )


async def test_a_scoped_service_is_shared_by_a_handler_and_its_dependencies(
    app: Application,
) -> None:
    seen = await app.mediator.send(UseSession())

    assert seen.handler_session is seen.gateway_session


async def test_a_scoped_service_is_the_same_for_the_whole_operation(app: Application) -> None:
    seen = await app.mediator.send(UseSession())

    assert seen.session_after_awaiting is seen.handler_session


async def test_each_operation_gets_its_own_scoped_service(app: Application) -> None:
    first = await app.mediator.send(UseSession())
    second = await app.mediator.send(UseSession())

    assert first.handler_session is not second.handler_session


async def test_concurrent_operations_each_see_their_own_scoped_service(
    app: Application,
) -> None:
    results = await asyncio.gather(*(app.mediator.send(UseSession()) for _ in range(50)))

    assert len({seen.handler_session.serial for seen in results}) == 50
    for seen in results:
        assert seen.gateway_session is seen.handler_session
        assert seen.session_after_awaiting is seen.handler_session


def test_a_scoped_service_asked_for_outside_an_operation_raises_outside_operation(
    app: Application,
) -> None:
    with pytest.raises(OutsideOperation) as caught:
        app.get(Session)

    assert caught.value.key is Session
    assert "async with app.operation()" in str(caught.value)


def test_the_operation_context_asked_for_outside_an_operation_raises_outside_operation(
    app: Application,
) -> None:
    with pytest.raises(OutsideOperation):
        app.get(OperationContext)


async def test_a_scoped_service_is_closed_when_its_operation_ends(
    app: Application, closed: Closed
) -> None:
    seen = await app.mediator.send(UseSession())

    assert seen.handler_session.is_closed
    assert closed.serials == [seen.handler_session.serial]


async def test_a_scoped_service_is_closed_when_the_handler_raises(
    app: Application, closed: Closed
) -> None:
    with pytest.raises(RuntimeError, match="the handler failed"):
        await app.mediator.send(UseSession(fail=True))

    assert len(closed.serials) == 1


class Outer:
    """A scoped service built on another: closed before the one it depends on."""

    @injector.inject
    def __init__(self, session: Session, closed: Closed) -> None:
        self.session = session
        self.serial = next(_serials)
        self.closed = closed

    async def aclose(self) -> None:
        self.closed.serials.append(self.serial)


async def test_scoped_services_are_closed_newest_first(app: Application, closed: Closed) -> None:
    app.container.binder.bind(Outer, scope=operation_scope)

    async with app.operation():
        outer = app.get(Outer)

    assert closed.serials == [outer.serial, outer.session.serial]


class Broken:
    """A scoped service whose close fails, opened after the session it depends on."""

    @injector.inject
    def __init__(self, session: Session) -> None:
        self.session = session

    async def aclose(self) -> None:
        raise OSError(f"connection {self.session.serial} reset")


class AlsoBroken(Broken):
    """A second service whose close fails."""

    async def aclose(self) -> None:
        raise ValueError("cannot flush")


async def test_every_scoped_service_is_closed_when_one_fails_to_close(
    app: Application, closed: Closed
) -> None:
    app.container.binder.bind(Broken, scope=operation_scope)

    with pytest.raises(OSError, match="reset"):
        async with app.operation():
            broken = app.get(Broken)

    assert broken.session.is_closed
    assert closed.serials == [broken.session.serial]


async def test_every_failure_to_close_is_reported(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    app.container.binder.bind(Broken, scope=operation_scope)
    app.container.binder.bind(AlsoBroken, scope=operation_scope)

    with pytest.raises(ValueError, match="cannot flush") as raised:
        async with app.operation():
            app.get(Broken)
            app.get(AlsoBroken)

    (note,) = raised.value.__notes__
    assert note.startswith("closing Broken also failed: OSError: connection")
    logged = [record.getMessage() for record in caplog.records if record.name == "facta.operation"]
    assert logged == [
        "closing AlsoBroken failed when its operation ended",
        "closing Broken failed when its operation ended",
    ]


async def test_a_manual_operation_shares_its_scoped_services(app: Application) -> None:
    async with app.operation():
        first = app.get(Session)
        second = app.get(Session)

    assert first is second


async def test_a_manual_operation_closes_its_scoped_services_when_it_ends(
    app: Application,
) -> None:
    async with app.operation():
        session = app.get(Session)
        assert not session.is_closed

    assert session.is_closed


async def test_a_manual_operation_closes_its_scoped_services_when_its_body_raises(
    app: Application,
) -> None:
    with pytest.raises(KeyError):
        async with app.operation():
            session = app.get(Session)
            raise KeyError("boom")

    assert session.is_closed


async def test_a_manual_operation_starts_a_chain_of_its_own(app: Application) -> None:
    async with app.operation("nightly import") as context:
        assert app.get(OperationContext) is context

    assert context.chain == ("nightly import",)
    assert context.correlation_id == context.message_id
    assert context.causation_id is None
    assert context.depth == 0


async def test_scoped_services_are_unavailable_again_after_a_manual_operation(
    app: Application,
) -> None:
    async with app.operation():
        app.get(Session)

    with pytest.raises(OutsideOperation):
        app.get(Session)


async def test_two_applications_do_not_share_an_operation(closed: Closed) -> None:
    def bind(binder: injector.Binder) -> None:
        binder.bind(Closed, to=closed)
        binder.bind(Session, scope=operation_scope)

    first = ApplicationBuilder().add_module(bind).build()
    second = ApplicationBuilder().add_module(bind).build()

    async with first.operation():
        first.get(Session)
        with pytest.raises(OutsideOperation):
            second.get(Session)


async def test_a_handler_can_ask_for_its_operation_context(bank_app: Application) -> None:
    context = await bank_app.mediator.send(ContextEcho())

    assert isinstance(context, OperationContext)
    assert context.message == ContextEcho()
    assert context.chain == ("ContextEcho",)
    assert context.handler.endswith(".ContextEchoHandler")


async def test_a_top_level_command_starts_a_correlation_of_its_own(
    bank_app: Application, contexts: Contexts
) -> None:
    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    context = contexts.of("OpenAccount")
    assert context.correlation_id == context.message_id
    assert context.causation_id is None
    assert context.chain == ("OpenAccount",)


async def test_each_command_gets_its_own_message_id(
    bank_app: Application, contexts: Contexts
) -> None:
    await bank_app.mediator.send(ContextEcho())
    await bank_app.mediator.send(ContextEcho())

    assert len({context.message_id for context in contexts.seen}) == 2


async def test_a_commands_events_carry_its_correlation_id_and_are_caused_by_it(
    bank_app: Application, contexts: Contexts
) -> None:
    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    (event,) = bank_app.get(InMemoryStore).events
    command = contexts.of("OpenAccount")
    assert event.correlation_id == command.correlation_id
    assert event.causation_id == command.message_id


async def test_an_event_is_handled_in_the_correlation_of_the_command_that_recorded_it(
    bank_app: Application, contexts: Contexts
) -> None:
    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    (event,) = bank_app.get(InMemoryStore).events
    command, handling = contexts.of("OpenAccount"), contexts.of("AccountOpened")
    assert handling.message_id == event.event_id
    assert handling.correlation_id == command.correlation_id
    assert handling.causation_id == command.message_id
    assert handling.chain == ("OpenAccount", "AccountOpened")


async def test_a_command_sent_by_an_event_handler_continues_the_chain(
    bank_app: Application, contexts: Contexts
) -> None:
    bank_app.registry.add(WelcomeBonus)

    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    opened_event = bank_app.get(InMemoryStore).events[0]
    first, bonus = contexts.of("OpenAccount"), contexts.of("Deposit")
    assert bonus.correlation_id == first.correlation_id
    assert bonus.causation_id == opened_event.event_id
    assert bonus.chain == ("OpenAccount", "AccountOpened", "Deposit")
    assert bonus.depth == 2


async def test_the_events_of_a_chained_command_keep_the_first_correlation_id(
    bank_app: Application, contexts: Contexts
) -> None:
    bank_app.registry.add(WelcomeBonus)

    await bank_app.mediator.send(OpenAccount(account_id="acc-1", owner="alice"))

    opened, deposited = bank_app.get(InMemoryStore).events
    first, bonus = contexts.of("OpenAccount"), contexts.of("Deposit")
    assert deposited.correlation_id == opened.correlation_id == first.correlation_id
    # the command in between is not stored: its events name the stored event behind it
    assert deposited.causation_id == opened.event_id != bonus.message_id
