"""Stored-event upcasters: declared once per step, checked when the application is built."""

from __future__ import annotations

from typing import Any

import pytest

from facta import ApplicationBuilder, ConfigurationError, EventUpcaster, PersistenceError
from facta.application import DataUpcaster, Upcaster
from facta.application.ports.event_store import StoredEvent, decode_event
from facta.domain import utc_now
from support.ledger import LEDGER_TYPES, EntryPosted, EntryPostedV1ToV2, old_event_fields


class Unnamed(EventUpcaster):
    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


class AnotherV1ToV2(EventUpcaster):
    event_type = "EntryPosted"
    from_version = 1

    def upcast(self, data: dict[str, Any]) -> dict[str, Any]:
        return data


def stored(event_version: int, payload: dict[str, Any]) -> StoredEvent:
    import json
    from uuid import uuid4

    fields = old_event_fields("EntryPosted", "l-1", 2, payload)
    return StoredEvent(
        1, "Ledger", "l-1", 2, uuid4(), "EntryPosted", event_version, utc_now(), json.dumps(fields)
    )


def test_both_kinds_of_upcaster_share_one_step_contract() -> None:
    assert issubclass(EventUpcaster, DataUpcaster) and issubclass(Upcaster, DataUpcaster)


def test_an_upcaster_without_its_event_type_and_version_is_refused_at_build() -> None:
    with pytest.raises(ConfigurationError, match="Unnamed must set event_type"):
        ApplicationBuilder().add_handler(Unnamed).build()


def test_two_upcasters_of_one_step_are_refused_at_build() -> None:
    with pytest.raises(ConfigurationError, match="two upcasters read 'EntryPosted' version 1"):
        ApplicationBuilder().add_handler(EntryPostedV1ToV2, AnotherV1ToV2).build()


def test_a_chain_of_steps_reads_the_oldest_shape_as_the_current_class() -> None:
    registry = ApplicationBuilder().add_handler(*LEDGER_TYPES).build().registry

    event = decode_event(stored(1, {"value": 3}), registry)

    assert isinstance(event, EntryPosted)
    assert (event.amount, event.memo, event.aggregate_version) == (3, "(before memos)", 2)


def test_an_upcast_result_that_does_not_fit_the_class_is_refused_naming_the_event() -> None:
    registry = ApplicationBuilder().add_handler(*LEDGER_TYPES).build().registry

    with pytest.raises(PersistenceError, match="EntryPosted version 2\\) does not fit"):
        decode_event(stored(2, {"amount": "not a number"}), registry)


def test_an_event_type_the_application_does_not_know_is_refused() -> None:
    registry = ApplicationBuilder().build().registry

    with pytest.raises(PersistenceError, match="of type 'EntryPosted', which this application"):
        decode_event(stored(3, {"amount": 1, "memo": ""}), registry)
