"""HandlerRegistry: discovering handlers and event types, one registry per application."""

from __future__ import annotations

from typing import ClassVar

import pytest

from application.sample_app import handlers, messages
from application.sample_app.bases import MemberProjection
from application.sample_app.billing.handlers import WelcomeInvoice
from facta import (
    ApplicationBuilder,
    Command,
    CommandHandler,
    ConfigurationError,
    DomainEvent,
    DomainEventHandler,
    DuplicateHandler,
    HandlerNotFound,
)
from facta.application import HandlerRegistry

SAMPLE_APP = "application.sample_app"


class Ping(Command[str]):
    pass


class PingHandler(CommandHandler[Ping, str]):
    async def handle(self, command: Ping) -> str:
        return "pong"


class OtherPingHandler(CommandHandler[Ping, str]):
    async def handle(self, command: Ping) -> str:
        return "other pong"


class EveryEventCounter(DomainEventHandler[DomainEvent]):
    async def handle(self, event: DomainEvent) -> None:
        return None


class ItemAdded(DomainEvent):
    sku: str


class ImportedItemAdded(DomainEvent):
    event_type: ClassVar[str] = "ItemAdded"

    sku: str


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def scanned() -> HandlerRegistry:
    """A registry that scanned the sample application."""
    registry = HandlerRegistry()
    registry.scan(SAMPLE_APP)
    return registry


def _all_handlers(registry: HandlerRegistry) -> list[type[object]]:
    found: list[type[object]] = []
    for request_handlers in registry.request_types.values():
        found.extend(request_handlers)
    for event_type in registry.event_types.values():
        found.extend(h for h in registry.event_handlers(event_type) if h not in found)
    return found


def test_scan_registers_each_command_and_query_handler_once(scanned: HandlerRegistry) -> None:
    assert scanned.request_types == {
        messages.RegisterMember: (handlers.RegisterMemberHandler,),
        messages.CountMembers: (handlers.CountMembersHandler,),
    }


def test_scan_registers_every_concrete_handler_exactly_once(scanned: HandlerRegistry) -> None:
    registered = _all_handlers(scanned)

    assert sorted(h.__qualname__ for h in registered) == [
        "CountMembersHandler",
        "MemberActivityLog",
        "MemberDirectory",
        "RegisterMemberHandler",
        "WelcomeInvoice",
    ]


def test_scan_skips_abstract_base_handlers(scanned: HandlerRegistry) -> None:
    assert MemberProjection not in _all_handlers(scanned)


def test_scan_descends_into_subpackages(scanned: HandlerRegistry) -> None:
    assert WelcomeInvoice in scanned.event_handlers(messages.MemberRegistered)


def test_scan_registers_the_event_types_by_name(scanned: HandlerRegistry) -> None:
    assert scanned.event_types == {
        "MemberEvent": messages.MemberEvent,
        "MemberRegistered": messages.MemberRegistered,
        "members.MemberRenamed.v1": messages.MemberRenamed,
    }


def test_a_scanned_event_type_is_found_by_its_name(scanned: HandlerRegistry) -> None:
    assert scanned.event_type("members.MemberRenamed.v1") is messages.MemberRenamed


def test_an_unknown_event_type_name_is_a_configuration_error(scanned: HandlerRegistry) -> None:
    with pytest.raises(ConfigurationError, match=r"'NoSuchEvent'.*scan the package"):
        scanned.event_type("NoSuchEvent")


def test_scan_accepts_a_module_object_and_registers_only_what_it_defines(
    registry: HandlerRegistry,
) -> None:
    registry.scan(handlers)

    assert registry.request_types == {
        messages.RegisterMember: (handlers.RegisterMemberHandler,),
        messages.CountMembers: (handlers.CountMembersHandler,),
    }
    assert set(registry.event_handlers(messages.MemberRegistered)) == {
        handlers.MemberDirectory,
        handlers.MemberActivityLog,
    }


def test_scanning_the_same_package_twice_registers_nothing_more(scanned: HandlerRegistry) -> None:
    before = scanned.request_types, scanned.event_handlers(messages.MemberRegistered)

    scanned.scan(SAMPLE_APP)

    assert (scanned.request_types, scanned.event_handlers(messages.MemberRegistered)) == before


def test_event_handlers_include_those_of_base_event_classes_most_specific_first(
    scanned: HandlerRegistry,
) -> None:
    most_specific, *of_the_base = scanned.event_handlers(messages.MemberRegistered)

    assert most_specific is WelcomeInvoice
    assert set(of_the_base) == {handlers.MemberDirectory, handlers.MemberActivityLog}


def test_an_event_with_no_handlers_has_none(registry: HandlerRegistry) -> None:
    assert registry.event_handlers(ItemAdded) == ()


def test_a_handler_added_later_is_seen_for_an_event_already_looked_up(
    registry: HandlerRegistry,
) -> None:
    registry.scan(handlers)
    registry.event_handlers(messages.MemberRegistered)

    registry.add(WelcomeInvoice)

    assert WelcomeInvoice in registry.event_handlers(messages.MemberRegistered)


def test_adding_an_event_handler_registers_the_event_type_it_handles(
    registry: HandlerRegistry,
) -> None:
    registry.add(WelcomeInvoice)

    assert registry.event_types == {"MemberRegistered": messages.MemberRegistered}


def test_a_handler_of_every_domain_event_registers_no_event_type(
    registry: HandlerRegistry,
) -> None:
    registry.add(EveryEventCounter)

    assert registry.event_types == {}


def test_adding_a_handler_twice_registers_it_once(registry: HandlerRegistry) -> None:
    registry.add(PingHandler)
    registry.add(PingHandler)

    assert registry.request_types == {Ping: (PingHandler,)}


def test_adding_a_class_that_is_not_a_handler_is_a_configuration_error(
    registry: HandlerRegistry,
) -> None:
    with pytest.raises(ConfigurationError):
        registry.add(Ping)


def test_two_event_classes_with_the_same_event_type_are_a_configuration_error(
    registry: HandlerRegistry,
) -> None:
    registry.add_event_type(ItemAdded)

    with pytest.raises(ConfigurationError, match=r"two event classes are named 'ItemAdded'"):
        registry.add_event_type(ImportedItemAdded)


def test_scanning_a_package_with_clashing_event_type_names_is_a_configuration_error(
    registry: HandlerRegistry,
) -> None:
    with pytest.raises(ConfigurationError, match=r"'ItemAdded'.*own `event_type`"):
        registry.scan("application.clashing_app")


def test_adding_an_event_type_twice_registers_it_once(registry: HandlerRegistry) -> None:
    registry.add_event_type(ItemAdded)
    registry.add_event_type(ItemAdded)

    assert registry.event_types == {"ItemAdded": ItemAdded}


def test_validate_refuses_a_command_with_two_handlers(registry: HandlerRegistry) -> None:
    registry.add(PingHandler)
    registry.add(OtherPingHandler)

    with pytest.raises(DuplicateHandler) as caught:
        registry.validate()

    assert caught.value.message_type is Ping
    assert caught.value.handlers == (PingHandler, OtherPingHandler)


def test_validate_accepts_one_handler_per_command(scanned: HandlerRegistry) -> None:
    scanned.validate()


def test_the_request_handler_of_an_unregistered_command_is_not_found(
    registry: HandlerRegistry,
) -> None:
    with pytest.raises(HandlerNotFound) as caught:
        registry.request_handler(Ping)

    assert caught.value.message_type is Ping


def test_two_applications_built_from_one_package_have_their_own_registries() -> None:
    builder = ApplicationBuilder().scan(SAMPLE_APP)
    first, second = builder.build(), builder.build()

    assert first.registry is not second.registry
    assert first.registry.request_types == second.registry.request_types


def test_a_handler_added_to_one_application_is_invisible_to_another() -> None:
    first = ApplicationBuilder().scan(SAMPLE_APP).build()
    second = ApplicationBuilder().scan(SAMPLE_APP).build()

    first.registry.add(PingHandler)

    assert Ping in first.registry.request_types
    assert Ping not in second.registry.request_types


async def test_a_command_handled_by_one_application_is_not_found_by_another() -> None:
    first = ApplicationBuilder().scan(SAMPLE_APP).build()
    second = ApplicationBuilder().scan(SAMPLE_APP).build()
    first.registry.add(PingHandler)

    assert await first.mediator.send(Ping()) == "pong"
    with pytest.raises(HandlerNotFound):
        await second.mediator.send(Ping())
