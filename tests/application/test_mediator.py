"""Mediator: one handler per command or query, every handler per event, each isolated."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import injector
import pytest

from facta import (
    Application,
    ApplicationBuilder,
    Command,
    CommandHandler,
    DispatchReport,
    DomainEvent,
    DomainEventHandler,
    DuplicateHandler,
    EventHandlingError,
    HandlerNotFound,
    Mediator,
    Query,
    QueryHandler,
)
from facta.application import HandlerRegistry, OperationScope, Pipelines, handler_name

MakeApp = Callable[..., Application]


@dataclass
class Calls:
    """What the handlers of one application did, in order."""

    names: list[str] = field(default_factory=list)
    handlers: list[object] = field(default_factory=list)


class Ship(Command[str]):
    parcel_id: str


class Track(Query[str]):
    parcel_id: str


class Unhandled(Command[None]):
    pass


class Shipped(DomainEvent):
    parcel_id: str


class ExpressShipped(Shipped):
    pass


class Lost(DomainEvent):
    parcel_id: str


class ShipHandler(CommandHandler[Ship, str]):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def handle(self, command: Ship) -> str:
        self.calls.names.append("ship")
        self.calls.handlers.append(self)
        return f"shipped {command.parcel_id}"


class OtherShipHandler(CommandHandler[Ship, str]):
    async def handle(self, command: Ship) -> str:
        return "shipped twice"


class TrackHandler(QueryHandler[Track, str]):
    async def handle(self, query: Track) -> str:
        return f"{query.parcel_id} is on its way"


class OtherTrackHandler(QueryHandler[Track, str]):
    async def handle(self, query: Track) -> str:
        return "no idea"


class FailingShipHandler(CommandHandler[Ship, str]):
    async def handle(self, command: Ship) -> str:
        raise LookupError(f"no parcel {command.parcel_id}")


class ShippedRecorder(DomainEventHandler[Shipped]):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def handle(self, event: Shipped) -> None:
        self.calls.names.append(f"recorder:{type(event).__name__}")


class ExpressDesk(DomainEventHandler[ExpressShipped]):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def handle(self, event: ExpressShipped) -> None:
        self.calls.names.append("express desk")


class AnyEventRecorder(DomainEventHandler[DomainEvent]):
    def __init__(self, calls: Calls) -> None:
        self.calls = calls

    async def handle(self, event: DomainEvent) -> None:
        self.calls.names.append(f"any:{event.event_type}")


class JammedLabelPrinter(DomainEventHandler[Shipped]):
    async def handle(self, event: Shipped) -> None:
        raise RuntimeError("the label printer jammed")


class BrokenScanner(DomainEventHandler[Shipped]):
    async def handle(self, event: Shipped) -> None:
        raise ValueError("the scanner is broken")


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def make_app(calls: Calls) -> MakeApp:
    """Build an application from handler classes, recording into ``calls``."""

    def make(*handler_types: type[object]) -> Application:
        def bind_calls(binder: injector.Binder) -> None:
            binder.bind(Calls, to=calls)

        return ApplicationBuilder().add_handler(*handler_types).add_module(bind_calls).build()

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Application:
    """An application with working handlers only."""
    return make_app(ShipHandler, TrackHandler, ShippedRecorder, ExpressDesk)


@pytest.fixture
def shipped() -> Shipped:
    return Shipped(parcel_id="p-1")


def _mediator_over(registry: HandlerRegistry) -> Mediator:
    container = injector.Injector(auto_bind=True)
    return Mediator(container, registry, container.get(OperationScope), Pipelines())


async def test_send_returns_the_result_of_the_commands_handler(app: Application) -> None:
    assert await app.mediator.send(Ship(parcel_id="p-1")) == "shipped p-1"


async def test_send_runs_the_commands_one_handler_once(app: Application, calls: Calls) -> None:
    await app.mediator.send(Ship(parcel_id="p-1"))

    assert calls.names == ["ship"]


async def test_each_message_gets_a_new_handler_instance(app: Application, calls: Calls) -> None:
    await app.mediator.send(Ship(parcel_id="p-1"))
    await app.mediator.send(Ship(parcel_id="p-2"))

    first, second = calls.handlers
    assert first is not second


async def test_query_returns_the_answer_of_the_querys_handler(app: Application) -> None:
    assert await app.mediator.query(Track(parcel_id="p-1")) == "p-1 is on its way"


async def test_an_error_raised_by_a_handler_reaches_the_caller_unchanged(make_app: MakeApp) -> None:
    app = make_app(FailingShipHandler)

    with pytest.raises(LookupError, match="no parcel p-9"):
        await app.mediator.send(Ship(parcel_id="p-9"))


async def test_sending_a_command_nobody_handles_raises_handler_not_found(
    app: Application,
) -> None:
    with pytest.raises(HandlerNotFound) as caught:
        await app.mediator.send(Unhandled())

    assert caught.value.message_type is Unhandled


async def test_handler_not_found_tells_how_to_register_a_handler(app: Application) -> None:
    with pytest.raises(HandlerNotFound) as caught:
        await app.mediator.send(Unhandled())

    text = str(caught.value)
    assert "no handler is registered for Unhandled" in text
    assert "CommandHandler/QueryHandler" in text
    assert "add_handler()" in text


@pytest.mark.parametrize(
    "handler_types",
    [
        pytest.param((ShipHandler, OtherShipHandler), id="command"),
        pytest.param((TrackHandler, OtherTrackHandler), id="query"),
    ],
)
def test_building_an_application_with_two_handlers_for_one_request_is_refused(
    make_app: MakeApp,
    handler_types: tuple[type[object], ...],
) -> None:
    with pytest.raises(DuplicateHandler) as caught:
        make_app(*handler_types)

    assert caught.value.handlers == handler_types


def test_duplicate_handler_names_both_handlers_and_the_fix(make_app: MakeApp) -> None:
    with pytest.raises(DuplicateHandler) as caught:
        make_app(ShipHandler, OtherShipHandler)

    text = str(caught.value)
    assert handler_name(ShipHandler) in text
    assert handler_name(OtherShipHandler) in text
    assert "exactly one" in text


async def test_sending_a_command_with_two_handlers_raises_duplicate_handler() -> None:
    registry = HandlerRegistry()
    registry.add(ShipHandler)
    registry.add(OtherShipHandler)
    mediator = _mediator_over(registry)

    with pytest.raises(DuplicateHandler) as caught:
        await mediator.send(Ship(parcel_id="p-1"))

    assert caught.value.message_type is Ship


async def test_querying_a_query_with_two_handlers_raises_duplicate_handler() -> None:
    registry = HandlerRegistry()
    registry.add(TrackHandler)
    registry.add(OtherTrackHandler)
    mediator = _mediator_over(registry)

    with pytest.raises(DuplicateHandler):
        await mediator.query(Track(parcel_id="p-1"))


async def test_publish_runs_the_handlers_declared_for_the_event_class(
    app: Application, calls: Calls, shipped: Shipped
) -> None:
    await app.mediator.publish(shipped)

    assert calls.names == ["recorder:Shipped"]


async def test_a_handler_declared_for_a_base_event_receives_its_subclasses(
    app: Application, calls: Calls
) -> None:
    await app.mediator.publish(ExpressShipped(parcel_id="p-1"))

    assert sorted(calls.names) == ["express desk", "recorder:ExpressShipped"]


async def test_a_handler_declared_for_domain_event_receives_every_event(
    make_app: MakeApp,
    calls: Calls,
) -> None:
    app = make_app(AnyEventRecorder)

    await app.mediator.publish(Shipped(parcel_id="p-1"))
    await app.mediator.publish(Lost(parcel_id="p-2"))

    assert calls.names == ["any:Shipped", "any:Lost"]


async def test_publishing_an_event_nobody_handles_does_nothing(
    app: Application, calls: Calls
) -> None:
    await app.mediator.publish(Lost(parcel_id="p-1"))

    assert calls.names == []


async def test_a_failing_event_handler_does_not_stop_the_others(
    make_app: MakeApp,
    calls: Calls,
    shipped: Shipped,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder)

    with pytest.raises(EventHandlingError):
        await app.mediator.publish(shipped)

    assert calls.names == ["recorder:Shipped"]


async def test_publish_raises_event_handling_error_naming_the_failed_handler(
    make_app: MakeApp,
    shipped: Shipped,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder)

    with pytest.raises(EventHandlingError) as caught:
        await app.mediator.publish(shipped)

    error = caught.value
    assert [failure.handler for failure in error.failures] == [handler_name(JammedLabelPrinter)]
    assert isinstance(error.failures[0].error, RuntimeError)
    assert error.event_type == "Shipped"
    assert error.event_id == str(shipped.event_id)
    assert handler_name(JammedLabelPrinter) in str(error)
    assert "the label printer jammed" in str(error)


async def test_publish_names_every_failed_handler(
    make_app: MakeApp,
    shipped: Shipped,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder, BrokenScanner)

    with pytest.raises(EventHandlingError) as caught:
        await app.mediator.publish(shipped)

    assert [failure.handler for failure in caught.value.failures] == [
        handler_name(JammedLabelPrinter),
        handler_name(BrokenScanner),
    ]
    assert str(caught.value).startswith("2 handler(s) of Shipped")


async def test_dispatch_reports_each_outcome_instead_of_raising(
    make_app: MakeApp,
    calls: Calls,
    shipped: Shipped,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder)

    report = await app.mediator.dispatch(shipped)

    assert isinstance(report, DispatchReport)
    assert report.event is shipped
    assert report.succeeded == (handler_name(ShippedRecorder),)
    assert [failure.handler for failure in report.failures] == [handler_name(JammedLabelPrinter)]
    assert not report.ok
    assert calls.names == ["recorder:Shipped"]


async def test_a_dispatch_report_raises_for_its_failures_on_request(
    make_app: MakeApp,
    shipped: Shipped,
) -> None:
    report = await make_app(JammedLabelPrinter).mediator.dispatch(shipped)

    with pytest.raises(EventHandlingError) as caught:
        report.raise_for_failures()

    assert caught.value.failures == report.failures


async def test_a_dispatch_report_without_failures_is_ok(app: Application, shipped: Shipped) -> None:
    report = await app.mediator.dispatch(shipped)

    assert report.ok
    report.raise_for_failures()


async def test_dispatch_logs_each_failed_handler_at_error_with_its_exception(
    make_app: MakeApp,
    shipped: Shipped,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder)

    with caplog.at_level(logging.ERROR, logger="facta.mediator"):
        await app.mediator.dispatch(shipped)

    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].name == "facta.mediator"
    assert handler_name(JammedLabelPrinter) in errors[0].getMessage()
    assert str(shipped.event_id) in errors[0].getMessage()
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


async def test_dispatch_only_runs_the_named_handlers(
    make_app: MakeApp,
    calls: Calls,
    shipped: Shipped,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder, AnyEventRecorder)

    report = await app.mediator.dispatch(shipped, only={handler_name(AnyEventRecorder)})

    assert calls.names == ["any:Shipped"]
    assert report.succeeded == (handler_name(AnyEventRecorder),)
    assert report.failures == ()


async def test_dispatch_with_an_empty_only_runs_no_handler(
    app: Application, calls: Calls, shipped: Shipped
) -> None:
    report = await app.mediator.dispatch(shipped, only=())

    assert calls.names == []
    assert report.succeeded == ()


def test_handler_names_lists_every_handler_an_event_type_is_dispatched_to(
    app: Application,
) -> None:
    assert set(app.mediator.handler_names(ExpressShipped)) == {
        handler_name(ExpressDesk),
        handler_name(ShippedRecorder),
    }


def test_handlers_added_directly_keep_the_order_they_were_added_in(
    make_app: MakeApp,
) -> None:
    app = make_app(JammedLabelPrinter, ShippedRecorder, BrokenScanner)

    assert app.mediator.handler_names(Shipped) == (
        handler_name(JammedLabelPrinter),
        handler_name(ShippedRecorder),
        handler_name(BrokenScanner),
    )
