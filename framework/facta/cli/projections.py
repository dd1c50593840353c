"""``facta projections``: list an application's projections, see how far behind each is,
and rebuild one from the retained events while the service keeps running."""

from __future__ import annotations

import argparse
from datetime import timedelta

from facta.cli.arguments import positive_int
from facta.cli.errors import EXIT_OK
from facta.cli.loading import open_application
from facta.cli.output import Column, echo, iso_time, note, print_json, table, terminal_width
from facta.cli.progress import Progress

__all__ = ["register"]


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``facta projections`` and its subcommands."""
    group = commands.add_parser(
        "projections",
        help="list projections, show their lag, rebuild one",
        description="The projections of the application that --app names: list them, "
        "show each one's state and lag (status), or rebuild one's views from the events "
        "the outbox retains (rebuild).",
    )
    group.set_defaults(run=None, parser=group)
    sub = group.add_subparsers(title="commands", metavar="COMMAND")
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument(
        "--json", action="store_true", help="print JSON for scripts instead of a table"
    )
    sub.add_parser(
        "list", parents=[common, listing], help="the projections, their lifecycle and views"
    ).set_defaults(run=_list)
    sub.add_parser(
        "status",
        parents=[common, listing],
        help="each projection's state and lag: pending events, the oldest, dead letters",
    ).set_defaults(run=_status)
    rebuild = sub.add_parser(
        "rebuild",
        parents=[common],
        help="rebuild one projection's views from the retained events",
        description="Replay the events the outbox retains into fresh copies of the "
        "projection's views, then swap them in. An asynchronous projection is paused "
        "meanwhile (its events wait and are applied after); queries keep reading the "
        "old views until the swap. Refused if the outbox was ever pruned, except for an "
        "inline projection fed by event-sourced aggregates only, which replays their "
        "streams from the event store.",
    )
    rebuild.add_argument("name", help="the projection's class name (or full name)")
    rebuild.add_argument(
        "--batch", type=positive_int, default=5_000, metavar="N", help="events per batch (5000)"
    )
    rebuild.add_argument(
        "--drain",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="how long a paused projection may finish what it started (2)",
    )
    rebuild.set_defaults(run=_rebuild)


async def _list(args: argparse.Namespace) -> int:
    async with open_application(args.app) as app:
        infos = app.registry.projections
    if args.json:
        print_json(
            [
                {
                    "name": info.name,
                    "lifecycle": info.lifecycle.value,
                    "views": [view.view_name for view in info.views],
                }
                for info in infos
            ]
        )
        return EXIT_OK
    if not infos:
        echo("this application has no projections")
        return EXIT_OK
    columns = [Column("PROJECTION"), Column("LIFECYCLE"), Column("VIEWS", flexible=True)]
    rows = [
        (info.short_name, info.lifecycle.value, ", ".join(v.view_name for v in info.views))
        for info in infos
    ]
    echo(table(columns, rows, terminal_width()))
    return EXIT_OK


async def _status(args: argparse.Namespace) -> int:
    from facta.hosting.rebuild import ProjectionRebuilder  # imported here: --help starts fast

    async with open_application(args.app) as app:
        statuses = await ProjectionRebuilder(app).status()
    if args.json:
        print_json(
            [
                {
                    "name": status.name,
                    "lifecycle": status.lifecycle.value,
                    "state": status.state.value,
                    "views": list(status.views),
                    "pending": status.lag.pending,
                    "oldest_pending": iso_time(status.lag.oldest, precise=True)
                    if status.lag.oldest
                    else None,
                    "dead_letters": status.lag.dead_letters,
                }
                for status in statuses
            ]
        )
        return EXIT_OK
    if not statuses:
        echo("this application has no projections")
        return EXIT_OK
    columns = [
        Column("PROJECTION"),
        Column("LIFECYCLE"),
        Column("STATE"),
        Column("PENDING", right=True),
        Column("OLDEST PENDING"),
        Column("DEAD", right=True, flexible=True),
    ]
    rows = [
        (
            status.name.rsplit(".", 1)[-1],
            status.lifecycle.value,
            status.state.value,
            str(status.lag.pending),
            iso_time(status.lag.oldest) if status.lag.oldest else "-",
            str(status.lag.dead_letters),
        )
        for status in statuses
    ]
    echo(table(columns, rows, terminal_width()))
    return EXIT_OK


async def _rebuild(args: argparse.Namespace) -> int:
    from facta.hosting.rebuild import ProjectionRebuilder
    from facta.persistence import Outbox

    async with open_application(args.app) as app:
        rebuilder = ProjectionRebuilder(app, batch_size=args.batch)
        info = rebuilder.find(args.name)
        stats = await app.get(Outbox).stats()  # type: ignore[type-abstract]
        with Progress(f"rebuilding {info.short_name}", stats.delivered + stats.pending) as bar:
            report = await rebuilder.rebuild(
                args.name, drain=timedelta(seconds=args.drain), progress=bar.advance
            )
    echo(
        f"rebuilt {info.short_name}: replayed {report.events} events into {', '.join(report.views)}"
    )
    if info.lifecycle.value == "async":
        note("resumed: events that waited during the rebuild are applied by the relay")
    return EXIT_OK
