"""``describe``: the message flow of an application, as facta sees it after discovery."""

from __future__ import annotations

from facta import Application, ApplicationBuilder
from facta.hosting.describe import describe
from support.bank import HANDLERS, Journal
from support.shop import LOYALTY, SHOP


def bank(*more: type[object]) -> Application:
    """The bank (with ``more`` handlers), its journal bound as its handlers need."""
    return (
        ApplicationBuilder()
        .add_handler(*HANDLERS, *more)
        .add_module(lambda binder: binder.bind(Journal, to=Journal()))
        .build()
    )


def test_each_command_is_listed_with_its_handler_and_the_events_it_may_record() -> None:
    flow = describe(bank())

    by_command = {f.handles: f for f in flow.commands}
    assert by_command["Transfer"].name == "support.bank.TransferHandler"
    assert by_command["Transfer"].records == ("MoneyDeposited", "MoneyWithdrawn")
    assert by_command["OpenAccount"].records == ("AccountOpened",)


def test_each_event_is_listed_with_the_handlers_that_react_to_it() -> None:
    flow = describe(bank())

    deposited = [handler.name for handler in flow.events["MoneyDeposited"]]
    assert deposited == ["support.bank.DepositNotifier", "support.bank.AuditTrail"]


def test_contracts_and_integration_handlers_are_listed_with_type_and_version() -> None:
    flow = describe(ApplicationBuilder().add_handler(*SHOP, *LOYALTY).build())

    assert (
        "OrderPlaced",
        "com.example.shop.order.placed.v2",
        "support.shop.OrderPlacedV2Contract",
        2,
    ) in flow.contracts
    (award,) = flow.integration_handlers
    assert (award.handles, award.name) == (
        "com.example.shop.order.placed.v2",
        "support.shop.AwardPoints",
    )


def test_the_flow_prints_as_text_and_as_a_mermaid_flowchart() -> None:
    flow = describe(bank(*SHOP))

    text = flow.as_text()
    assert "  Transfer -> TransferHandler\n      records MoneyDeposited" in text
    assert "OrderPlaced => com.example.shop.order.placed.v1 (v1)" in text
    mermaid = flow.as_mermaid()
    assert mermaid.startswith("flowchart LR\n")
    assert 'msg_Transfer["Transfer"]' in mermaid
    assert "evt_OrderPlaced -.-> ce_com_example_shop_order_placed_v1" in mermaid
