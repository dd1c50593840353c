"""``facta outbox ...``: what an operator sees and does, run through ``main(argv)``."""

from __future__ import annotations

import io
import json
from uuid import uuid4

import pytest

from cli.cli_app import TRACKER_DOWN
from cli.conftest import APP, Database
from facta import utc_now
from facta.cli.errors import UsageError
from facta.cli.main import main
from facta.cli.outbox import _resolve_handler
from facta.persistence import DeliveryRecord, DeliveryStatus


def run(*argv: str) -> int:
    return main(["outbox", *argv, "--app", APP])


def lines(text: str) -> list[str]:
    return text.strip("\n").splitlines()


class Terminal(io.StringIO):
    """A stdin that a person is typing into."""

    def isatty(self) -> bool:
        return True


# -- stats, pending, dead ------------------------------------------------------------------


def test_stats_counts_delivered_pending_and_dead_lettered_events(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("stats") == 0

    assert lines(capsys.readouterr().out) == [
        "delivered             3",
        "pending               1",
        "dead letters          2",
    ]


def test_stats_as_json(seeded: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("stats", "--json") == 0

    assert json.loads(capsys.readouterr().out) == {"delivered": 3, "pending": 1, "dead_letters": 2}


def test_pending_lists_undelivered_events_with_the_handlers_already_settled(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("pending") == 0

    header, row = lines(capsys.readouterr().out)
    assert header.split() == ["POSITION", "EVENT", "ID", "TYPE", "AGGREGATE", "OCCURRED", "SETTLED"]
    position, _event_id, event_type, aggregate, occurred, settled = row.split()
    assert (position, event_type, aggregate, settled) == (
        "4",
        "ParcelShipped",
        "p4",
        "cli.cli_app.Notifier",
    )
    assert occurred.endswith("Z") and occurred[10] == "T"
    assert header.index("EVENT ID") == row.index(_event_id)  # columns line up


def test_pending_as_json(seeded: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("pending", "--json") == 0

    (event,) = json.loads(capsys.readouterr().out)
    assert event["aggregate_id"] == "p4"
    assert event["event_type"] == "ParcelShipped"
    assert event["settled"] == ["cli.cli_app.Notifier"]
    assert event["occurred_at"].endswith("Z")


def test_dead_lists_dead_letters_newest_first_with_the_first_line_of_their_error(
    seeded: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")

    assert run("dead") == 0

    header, *rows = lines(capsys.readouterr().out)
    assert header.split()[:4] == ["EVENT", "ID", "TYPE", "AGGREGATE"]
    assert [row.split()[2] for row in rows] == ["p3", "p2"]
    for row in rows:
        assert "cli.cli_app.Tracker" in row
        assert row.endswith("ConnectionError: tracking service is down")
        assert row[header.index("WHEN") :].split()[0].endswith("Z")


@pytest.mark.parametrize(
    ("width", "cut"),
    [
        pytest.param(140, True, id="140-columns"),
        pytest.param(150, True, id="150-columns"),
        pytest.param(200, False, id="200-columns"),
    ],
)
def test_dead_cuts_the_last_error_to_the_terminal_width(
    seeded: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    width: int,
    cut: bool,
) -> None:
    monkeypatch.setenv("COLUMNS", str(width))

    assert run("dead") == 0

    _, *rows = lines(capsys.readouterr().out)
    assert all(len(row) <= width for row in rows)
    assert all(row.endswith("...") == cut for row in rows)
    assert all(" cli.cli_app.Tracker " in row for row in rows)  # names are never cut


def test_dead_as_json_keeps_the_whole_error(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("dead", "--json") == 0

    records = json.loads(capsys.readouterr().out)
    assert [record["aggregate_id"] for record in records] == ["p3", "p2"]
    assert records[0]["handler"] == "cli.cli_app.Tracker"
    assert records[0]["attempts"] == 2
    assert records[0]["last_error"] == (
        "builtins.ConnectionError: tracking service is down\n(while tracking p3)"
    )
    assert records[0]["dead_since"].endswith("Z")


@pytest.mark.parametrize(
    ("command", "shown", "note"),
    [
        pytest.param("dead", "p3", "showing the newest 1 of 2 dead letters", id="dead"),
        pytest.param("pending", "p4", "", id="pending-all-shown"),
    ],
)
def test_a_limited_listing_says_how_many_it_left_out(
    seeded: Database,
    capsys: pytest.CaptureFixture[str],
    command: str,
    shown: str,
    note: str,
) -> None:
    assert run(command, "--limit", "1") == 0

    out, err = capsys.readouterr()
    assert len(lines(out)) == 2 and shown in out
    assert note in err and (note or err == "")


@pytest.mark.parametrize(
    ("command", "empty"),
    [
        pytest.param("pending", "no pending events", id="pending"),
        pytest.param("dead", "no dead letters", id="dead"),
    ],
)
def test_an_empty_listing_says_so(
    database: Database, capsys: pytest.CaptureFixture[str], command: str, empty: str
) -> None:
    assert run(command) == 0
    assert capsys.readouterr().out.startswith(empty)

    assert run(command, "--json") == 0
    assert json.loads(capsys.readouterr().out) == []


@pytest.mark.parametrize("limit", ["0", "-1", "ten", "1.5", "²"])
def test_a_limit_must_be_a_positive_whole_number(
    capsys: pytest.CaptureFixture[str], limit: str
) -> None:
    assert run("pending", "--limit", limit) == 2
    assert "not a whole number of at least 1" in capsys.readouterr().err


# -- replay ----------------------------------------------------------------------------------


def test_replay_with_yes_revives_every_dead_letter(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("replay", "--yes") == 0

    assert capsys.readouterr().out.startswith("revived 2 deliveries;")
    stats = seeded.stats()
    assert (stats.pending, stats.dead_letters) == (3, 0)


def test_replay_without_yes_refuses_when_stdin_is_not_a_terminal(
    seeded: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))

    assert run("replay") == 2

    err = capsys.readouterr().err
    assert err == (
        "facta: error: not replaying 2 dead-lettered deliveries without confirmation: "
        "stdin is not a terminal, so pass --yes\n"
    )
    assert seeded.stats().dead_letters == 2


@pytest.mark.parametrize(
    ("answer", "code", "dead_after"),
    [
        pytest.param("y\n", 0, 0, id="yes"),
        pytest.param("YES\n", 0, 0, id="YES"),
        pytest.param("n\n", 1, 2, id="no"),
        pytest.param("\n", 1, 2, id="enter-means-no"),
        pytest.param("", 1, 2, id="end-of-input-means-no"),
    ],
)
def test_replay_on_a_terminal_asks_first(
    seeded: Database,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    code: int,
    dead_after: int,
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal(answer))

    assert run("replay") == code

    assert "Replay 2 dead-lettered deliveries? " in capsys.readouterr().err
    assert seeded.stats().dead_letters == dead_after


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param("cli.cli_app.Tracker", id="full-name"),
        pytest.param("Tracker", id="end-of-name"),
        pytest.param("cli_app.Tracker", id="longer-end-of-name"),
    ],
)
def test_replay_of_one_handler_takes_its_name_or_the_end_of_it(
    seeded: Database, capsys: pytest.CaptureFixture[str], handler: str
) -> None:
    assert run("replay", "--handler", handler, "--yes") == 0

    assert "revived 2 deliveries of handler cli.cli_app.Tracker" in capsys.readouterr().out
    assert seeded.stats().dead_letters == 0


def test_replay_of_one_event_revives_only_its_dead_letters(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("dead", "--json") == 0
    newest = json.loads(capsys.readouterr().out)[0]["event_id"]

    assert run("replay", "--event", newest, "--yes") == 0

    assert f"revived 1 delivery of event {newest}" in capsys.readouterr().out
    assert seeded.stats().dead_letters == 1


@pytest.mark.parametrize(
    "selection",
    [
        pytest.param(["--handler", "Notifier"], id="handler-without-dead-letters"),
        pytest.param(["--event", "00000000-0000-0000-0000-000000000000"], id="unknown-event"),
    ],
)
def test_replay_with_nothing_to_revive_says_so_without_asking(
    seeded: Database, capsys: pytest.CaptureFixture[str], selection: list[str]
) -> None:
    assert run("replay", *selection) == 0

    assert capsys.readouterr().out.startswith("nothing to replay: no dead letters of ")
    assert seeded.stats().dead_letters == 2


def test_replay_asks_for_the_full_name_when_the_end_of_a_name_is_ambiguous() -> None:
    records = [
        DeliveryRecord(uuid4(), "Shipped", "p1", handler, DeliveryStatus.DEAD, 2, "", None, now)
        for handler, now in [("shop.Tracker", utc_now()), ("shop.backup.Tracker", utc_now())]
    ]

    with pytest.raises(UsageError) as refused:
        _resolve_handler("Tracker", records)

    assert str(refused.value) == (
        "--handler Tracker is ambiguous: it could be shop.Tracker, shop.backup.Tracker; "
        "give the full name"
    )
    assert _resolve_handler("backup.Tracker", records) == "shop.backup.Tracker"


def test_replay_refuses_an_event_id_that_is_not_a_uuid(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("replay", "--event", "p2", "--yes") == 2
    assert "'p2' is not an event id" in capsys.readouterr().err


# -- relay -----------------------------------------------------------------------------------


def test_relay_once_delivers_the_pending_events_and_reports_progress(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("relay", "--once") == 0

    out, err = capsys.readouterr()
    assert out == "claimed 1 event; 0 pending, 2 dead letters\n"
    assert err == "relaying: 1/1 events\n"
    assert seeded.stats().pending == 0


def test_relay_once_reports_the_dead_letters_it_made(
    seeded: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TRACKER_DOWN, "1")

    assert run("relay", "--once") == 0

    assert capsys.readouterr().out == (
        "claimed 1 event; 0 pending, 3 dead letters (1 new: see `facta outbox dead`)\n"
    )


def test_replayed_dead_letters_are_delivered_by_the_next_relay(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("replay", "--yes") == 0
    assert run("relay", "--once") == 0

    assert "claimed 3 events; 0 pending, 0 dead letters" in capsys.readouterr().out
    stats = seeded.stats()
    assert (stats.delivered, stats.pending, stats.dead_letters) == (4, 0, 0)


# -- prune -----------------------------------------------------------------------------------

KEPT = "kept the events of 2 dead letters: see `facta outbox dead`, then replay them\n"


@pytest.mark.parametrize(
    ("older_than", "pruned", "after", "remark"),
    [
        pytest.param("7d", 0, (3, 1, 2), KEPT, id="nothing-that-old"),
        pytest.param("0s", 1, (2, 1, 2), KEPT, id="all-but-dead-letters"),
    ],
)
def test_prune_deletes_delivered_events_older_than_the_duration_and_keeps_pending_ones(
    seeded: Database,
    capsys: pytest.CaptureFixture[str],
    older_than: str,
    pruned: int,
    after: tuple[int, int, int],
    remark: str,
) -> None:
    assert run("prune", "--older-than", older_than) == 0

    out, err = capsys.readouterr()
    assert out.startswith(f"pruned {pruned} event")
    assert err.endswith(remark)
    stats = seeded.stats()
    assert (stats.delivered, stats.pending, stats.dead_letters) == after


def test_prune_works_in_batches_and_reports_each(
    seeded: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("replay", "--yes") == 0
    assert run("relay", "--once") == 0  # every event delivered: nothing is kept
    capsys.readouterr()

    assert run("prune", "--older-than", "0s", "--batch", "2") == 0

    assert lines(capsys.readouterr().err)[:2] == ["pruning: 2/4 events", "pruning: 4/4 events"]
    assert seeded.stats().delivered == 0


@pytest.mark.parametrize(
    "duration", ["7", "d", "7x", "7D", "-1d", "1.5h", "7 d", " 7d", "1d12h", "", "7days", "\uff11d"]
)
def test_prune_refuses_a_malformed_duration_and_shows_the_accepted_format(
    capsys: pytest.CaptureFixture[str], duration: str
) -> None:
    assert run("prune", f"--older-than={duration}") == 2

    err = capsys.readouterr().err
    assert (
        f"argument --older-than: {duration!r} is not a duration: use a whole number and a "
        "unit: s, m, h, d or w (e.g. 30m, 12h, 7d)" in err
    )


def test_prune_refuses_a_duration_beyond_a_hundred_years(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert run("prune", "--older-than", "999999999999w") == 2
    assert "is too long: at most 100 years (36500d)" in capsys.readouterr().err


def test_prune_needs_a_duration(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("prune") == 2
    assert "--older-than" in capsys.readouterr().err
