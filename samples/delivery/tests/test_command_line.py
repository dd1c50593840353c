"""``python -m delivery open``: the open deliveries on the command line; bad settings are
refused with a message naming the variable, and exit code 2."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from delivery.__main__ import main
from delivery.app import create_app
from delivery.settings import DeliveryServiceSettings, masked
from facta.integration.cloudevents import CloudEvent

Build = Callable[..., CloudEvent]


def ingest(settings: DeliveryServiceSettings, *events: CloudEvent) -> None:
    """Feed ``events`` to a delivery service on ``settings``'s database, then stop it."""

    async def feed() -> None:
        async with create_app(settings, consume=False) as app:
            for event in events:
                await app.ingestor.ingest(event)

    asyncio.run(feed())


def test_open_lists_the_deliveries_still_to_make(
    settings: DeliveryServiceSettings,
    order_placed: Build,
    order_delivered: Build,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["open", "--database-url", settings.database_url]) == 0
    assert capsys.readouterr().out == "no open deliveries\n"

    ingest(settings, order_placed("o-1"), order_placed("o-2"), order_delivered("o-2"))

    assert main(["open", "--database-url", settings.database_url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "1 open deliveries, the oldest order first:",
        "o-1  ordered 2025-05-01 18:30 UTC  Giulia Verdi (+390815550101), Via Roma 12, Napoli: "
        "2x large margherita, 1x small pepperoni; collect 49.70 EUR",
    ]


def test_the_environment_is_read_and_bad_settings_are_refused(
    settings: DeliveryServiceSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DELIVERY_DATABASE_URL", settings.database_url)
    assert main(["open"]) == 0
    assert capsys.readouterr().out == "no open deliveries\n"

    monkeypatch.setenv("DELIVERY_QUEUE", "")
    assert main(["open"]) == 2
    assert "DELIVERY_QUEUE" in capsys.readouterr().err


def test_a_broker_password_is_never_printed() -> None:
    assert masked("amqp://mario:s3cret@rabbit:5672/") == "amqp://mario:***@rabbit:5672/"
    assert masked("sqlite:///delivery.db") == "sqlite:///delivery.db"
