"""``build()`` fails fast: what would fail at the first message (or never) is reported
when the application is built, naming the class and what to change."""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass, field

import injector
import pytest

from application import misspelled_app, unhandled_app
from facta import (
    ApplicationBuilder,
    Command,
    CommandHandler,
    ConfigurationError,
    DomainEvent,
    DomainEventHandler,
    UnitOfWork,
    operation_scope,
)


class Ship(Command[str]):
    parcel: str


class Cancel(Command[None]):
    pass


class Shipped(DomainEvent):
    parcel: str


class SyncShipHandler(CommandHandler[Ship, str]):
    def handle(self, command: Ship) -> str:  # type: ignore[override]
        return command.parcel


class MisspelledShipHandler(CommandHandler[Ship, str]):
    async def hanlde(self, command: Ship) -> str:
        return command.parcel


class ConfusedShipHandler(CommandHandler[Ship, str]):
    async def handle(self, command: Cancel) -> str:  # type: ignore[override]
        return "?"


class ConfusedShippedHandler(DomainEventHandler[Shipped]):
    async def handle(self, event: Ship) -> None:  # type: ignore[override]
        return None


class BroadShipHandler(CommandHandler[Ship, str]):
    async def handle(self, command: Command[str] | None) -> str:  # type: ignore[override]
        return "any command"


@pytest.mark.parametrize(
    ("handler", "message"),
    [
        pytest.param(
            SyncShipHandler,
            "SyncShipHandler.handle is not a coroutine function: declare it with `async def",
            id="not-async",
        ),
        pytest.param(
            MisspelledShipHandler,
            "MisspelledShipHandler does not implement handle \\(it defines hanlde\\(\\): "
            "rename it to handle\\)",
            id="misspelled",
        ),
        pytest.param(
            ConfusedShipHandler,
            "ConfusedShipHandler is declared for Ship but its handle\\(\\) takes Cancel: "
            "make them agree",
            id="command-annotation",
        ),
        pytest.param(
            ConfusedShippedHandler,
            "declared for Shipped but its handle\\(\\) takes Ship",
            id="event-annotation",
        ),
    ],
)
def test_build_refuses_a_handler_that_cannot_handle_what_it_declares(
    handler: type[object], message: str
) -> None:
    builder = ApplicationBuilder().add_handler(handler)

    with pytest.raises(ConfigurationError, match=message):
        builder.build()


def test_a_handle_annotated_with_a_base_class_of_the_declared_message_is_accepted() -> None:
    app = ApplicationBuilder().add_handler(BroadShipHandler).build()

    assert app.registry.request_handler(Ship) is BroadShipHandler


def test_a_scanned_handler_with_a_misspelled_handle_is_reported_not_skipped() -> None:
    builder = ApplicationBuilder().scan(misspelled_app)

    with pytest.raises(ConfigurationError, match="RefundHandler does not implement handle"):
        builder.build()


def test_build_warns_of_every_scanned_command_and_query_that_no_handler_handles(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="facta.builder"):
        ApplicationBuilder().scan(unhandled_app).build()

    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(
        "no handler for application.unhandled_app.Forgotten, application.unhandled_app.Lost: "
        "define a CommandHandler/QueryHandler for each"
    )


class Tracker:
    """A stateful service: it must be bound, or it would start afresh in each handler."""

    def __init__(self) -> None:
        self.shipped: list[str] = []


class Carrier(abc.ABC):
    @abc.abstractmethod
    def book(self, parcel: str) -> str: ...


class Labels:
    """A stateless helper: no constructor, so building one per handler loses nothing."""

    def label(self, parcel: str) -> str:
        return f"[{parcel}]"


class Dispatcher:
    """Assembled from bound services (its constructor is injected)."""

    @injector.inject
    def __init__(self, tracker: Tracker, labels: Labels) -> None:
        self.tracker = tracker
        self.labels = labels


@operation_scope
@dataclass
class Manifest:
    """A service that declares its own scope."""

    lines: list[str] = field(default_factory=list)


def ship_handler(dependency: type[object]) -> type[object]:
    """A handler of ``Ship`` whose constructor takes a ``service: dependency``."""

    class ShipHandler(CommandHandler[Ship, str]):
        def __init__(self, service: object) -> None:
            self.service = service

        async def handle(self, command: Ship) -> str:
            return command.parcel

    ShipHandler.__init__.__annotations__["service"] = dependency
    return ShipHandler


@pytest.mark.parametrize(
    ("dependency", "message"),
    [
        pytest.param(
            Tracker,
            "parameter 'service': Tracker is not bound and its constructor takes nothing from "
            "the container",
            id="stateful",
        ),
        pytest.param(Carrier, "Carrier is abstract and nothing is bound to it", id="abstract"),
        pytest.param(str, "str is a builtin type: bind a value for it", id="builtin"),
        pytest.param(
            Dispatcher,
            "Dispatcher cannot be built: its parameter 'tracker': Tracker is not bound",
            id="assembled-from-unbound",
        ),
    ],
)
def test_build_refuses_a_dependency_nobody_bound_naming_handler_and_parameter(
    dependency: type[object], message: str
) -> None:
    handler = ship_handler(dependency)
    builder = ApplicationBuilder().add_handler(handler)

    with pytest.raises(ConfigurationError, match=message) as raised:
        builder.build()

    assert "ShipHandler, parameter 'service'" in str(raised.value)


async def test_a_bound_stateful_service_is_shared_by_every_handler() -> None:
    tracker = Tracker()
    handler = ship_handler(Tracker)
    app = (
        ApplicationBuilder()
        .add_handler(handler)
        .add_module(lambda binder: binder.bind(Tracker, to=tracker))
        .build()
    )

    await app.mediator.send(Ship(parcel="p-1"))

    assert app.get(Tracker) is tracker


@pytest.mark.parametrize(
    "dependency",
    [
        pytest.param(Labels, id="stateless"),
        pytest.param(Manifest, id="own-scope"),
        pytest.param(UnitOfWork, id="facta-binds-it"),
    ],
)
async def test_build_accepts_what_facta_may_build_for_a_handler(dependency: type[object]) -> None:
    app = ApplicationBuilder().add_handler(ship_handler(dependency)).build()

    assert await app.mediator.send(Ship(parcel="p-1")) == "p-1"


async def test_a_service_assembled_from_bound_services_is_built_for_the_handler() -> None:
    app = (
        ApplicationBuilder()
        .add_handler(ship_handler(Dispatcher))
        .add_module(lambda binder: binder.bind(Tracker, scope=injector.singleton))
        .build()
    )

    assert await app.mediator.send(Ship(parcel="p-1")) == "p-1"
