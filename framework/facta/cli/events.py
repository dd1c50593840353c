"""``facta events``: the history of an event-sourced aggregate, and its state at any time.

``facta events show Order o-1`` lists the stream of the ``Order`` with id ``o-1`` (every
event with its version, time and data) and the state its events add up to;
``--at 2026-05-01T12:00:00Z`` (or ``--version 3``) stops the history there: time travel.
The aggregate type is one the application knows (found by scanning, or added), and its
events are read, and upcast, as the application reads them.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from facta.cli.arguments import positive_int
from facta.cli.errors import EXIT_FAILURE, EXIT_OK, UsageError
from facta.cli.loading import open_application
from facta.cli.output import Column, echo, iso_time, note, print_json, table, terminal_width

if TYPE_CHECKING:
    from facta.domain import EventSourcedAggregate
    from facta.hosting import Application

__all__ = ["parse_time", "register"]

TIME_FORMAT = "ISO 8601, e.g. 2026-05-01T12:00:00Z (a time without an offset is UTC)"


def parse_time(text: str) -> datetime:
    """A moment for ``--at``: ISO 8601, with an offset or ``Z``; without one, UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use {TIME_FORMAT}") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``facta events`` and its subcommands; ``common`` carries ``--app`` and friends."""
    group = commands.add_parser(
        "events",
        help="read the streams of event-sourced aggregates: show (with time travel)",
        description="Read the event store of the application that --app names.",
    )
    group.set_defaults(run=None, parser=group)
    sub = group.add_subparsers(title="commands", metavar="COMMAND")
    show = sub.add_parser(
        "show",
        parents=[common],
        help="an aggregate's events and its state, now or as it was at a time",
        description="List the events of one event-sourced aggregate, in order, and the "
        "state they add up to. --at TIME (or --version N) shows it as it was then.",
    )
    show.add_argument("aggregate", metavar="AGGREGATE", help="the aggregate type, e.g. Order")
    show.add_argument("aggregate_id", metavar="ID", help="the aggregate's id")
    at = show.add_mutually_exclusive_group()
    at.add_argument(
        "--at", type=parse_time, metavar="TIME", help=f"as it was at TIME: {TIME_FORMAT}"
    )
    at.add_argument("--version", type=positive_int, metavar="N", help="as it was at version N")
    show.add_argument(
        "--json", action="store_true", help="print JSON for scripts instead of a table"
    )
    show.set_defaults(run=_show)


def _aggregate_type(app: Application, name: str) -> type[EventSourcedAggregate]:
    known = app.registry.event_sourced_aggregates
    found = known.get(name)
    if found is None:
        listing = ", ".join(sorted(known)) or "none: scan or add your event-sourced aggregates"
        raise UsageError(
            f"{name!r} is not an event-sourced aggregate of this application (it knows {listing})"
        )
    return found


async def _show(args: argparse.Namespace) -> int:
    # imported here, as the other commands do theirs: --help starts fast
    from facta.application.ports.event_store import EventStore, RecordedEvent, decode_event

    async with open_application(args.app) as app:
        aggregate_type = _aggregate_type(app, args.aggregate)
        store = app.get(EventStore)  # type: ignore[type-abstract]
        records = await store.stream_records(
            aggregate_type.aggregate_type,
            args.aggregate_id,
            to_version=args.version,
            until=args.at,
        )
        history = [
            RecordedEvent(
                record.position,
                record.stream_type,
                record.recorded_at,
                decode_event(record, app.registry, aggregate_type.event_class(record.event_type)),
            )
            for record in records
        ]
    when = _when(args)
    if not history:
        note(f"{aggregate_type.aggregate_type} {args.aggregate_id!r} has no events{when}")
        return EXIT_FAILURE
    state = aggregate_type.from_events(args.aggregate_id, [r.event for r in history])
    if args.json:
        print_json(
            {
                "aggregate_type": aggregate_type.aggregate_type,
                "aggregate_id": args.aggregate_id,
                "version": state.version,
                "at": None if args.at is None else iso_time(args.at, precise=True),
                "events": [
                    {
                        "version": r.event.aggregate_version,
                        "event_type": r.event.event_type,
                        "event_id": str(r.event.event_id),
                        "recorded_at": iso_time(r.recorded_at, precise=True),
                        "data": r.event.payload(),
                    }
                    for r in history
                ],
                "state": state.model_dump(mode="json"),
            }
        )
        return EXIT_OK
    columns = [
        Column("VERSION", right=True),
        Column("RECORDED"),
        Column("TYPE"),
        Column("DATA", flexible=True),
    ]
    rows = [
        (
            str(r.event.aggregate_version),
            iso_time(r.recorded_at),
            r.event.event_type,
            json.dumps(r.event.payload(), separators=(", ", ": ")),
        )
        for r in history
    ]
    echo(f"{aggregate_type.aggregate_type} {args.aggregate_id!r} at version {state.version}{when}")
    echo("")
    echo(table(columns, rows, terminal_width()))
    echo("")
    echo("state:")
    echo(json.dumps(state.model_dump(mode="json"), indent=2))
    return EXIT_OK


def _when(args: argparse.Namespace) -> str:
    if args.at is not None:
        return f" (as of {iso_time(args.at)})"
    if args.version is not None:
        return f" (up to version {args.version})"
    return ""
