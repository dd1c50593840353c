"""``facta outbox``: an operator's view of durable delivery, and the levers to act on it.

``stats``, ``pending`` and ``dead`` show where events stand; ``replay`` revives dead
letters once their handler is fixed; ``relay`` delivers what is due (once, or until
stopped); ``prune`` deletes delivered events past their keeping time. Each works on the
outbox of the application that ``--app`` names, whatever its back-end.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

from facta.cli.arguments import DURATION_FORMAT, event_id, parse_duration, positive_int
from facta.cli.errors import EXIT_FAILURE, EXIT_OK, UsageError
from facta.cli.loading import database_name, first_line, open_application
from facta.cli.output import Column, echo, iso_time, note, print_json, table, terminal_width
from facta.cli.progress import Progress

if TYPE_CHECKING:  # each command imports what it uses when it runs: --help starts fast
    from facta.hosting import Application
    from facta.integration import OutboxRelay
    from facta.persistence import DeliveryRecord, Outbox

__all__ = ["register"]


def register(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    common: argparse.ArgumentParser,
) -> None:
    """Add ``facta outbox`` and its subcommands; ``common`` carries ``--app`` and friends."""
    group = commands.add_parser(
        "outbox",
        help="inspect and operate the outbox: stats, pending, dead, replay, relay, prune",
        description="Inspect and operate the outbox of the application that --app names: "
        "see where events stand (stats, pending, dead), revive dead letters once their "
        "handler is fixed (replay), deliver what is due (relay), delete old delivered "
        "events (prune).",
    )
    group.set_defaults(run=None, parser=group)
    sub = group.add_subparsers(title="commands", metavar="COMMAND")

    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument(
        "--json", action="store_true", help="print JSON for scripts instead of a table"
    )
    limited = argparse.ArgumentParser(add_help=False)
    limited.add_argument(
        "--limit", type=positive_int, default=100, metavar="N", help="show at most N (100)"
    )

    stats = sub.add_parser(
        "stats", parents=[common, listing], help="count delivered, pending and dead-lettered"
    )
    stats.set_defaults(run=_stats)

    pending = sub.add_parser(
        "pending",
        parents=[common, listing, limited],
        help="list undelivered events, oldest first",
    )
    pending.set_defaults(run=_pending)

    dead = sub.add_parser(
        "dead",
        parents=[common, listing, limited],
        help="list dead-lettered deliveries, newest first",
    )
    dead.set_defaults(run=_dead)

    replay = sub.add_parser(
        "replay",
        parents=[common],
        help="give dead-lettered deliveries new attempts",
        description="Revive dead letters (all, those of one event, or of one handler): "
        "their events are due again at once, for the relay to deliver.",
    )
    replay.add_argument("--event", type=event_id, metavar="ID", help="only this event's")
    replay.add_argument(
        "--handler",
        metavar="NAME",
        help="only this handler's (its full name, or the unambiguous end of it)",
    )
    replay.add_argument(
        "--yes", "-y", action="store_true", help="do not ask; required without a terminal"
    )
    replay.set_defaults(run=_replay)

    relay = sub.add_parser(
        "relay",
        parents=[common],
        help="deliver due events: once, or until SIGINT/SIGTERM",
        description="Run the outbox relay with the application's handlers and delivery "
        "settings. Without --once it runs until interrupted (Ctrl-C, SIGTERM) and stops "
        "after the events in hand, giving the rest of its batch back.",
    )
    relay.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    relay.set_defaults(run=_relay)

    prune = sub.add_parser(
        "prune",
        parents=[common],
        help="delete delivered events older than a duration",
        description="Delete events (and their delivery records) delivered longer ago than "
        "--older-than. Undelivered events are kept, and so are events with a dead letter, "
        "until you replay them: dead letters stay visible.",
    )
    prune.add_argument(
        "--older-than",
        required=True,
        type=parse_duration,
        metavar="DURATION",
        help=f"how long delivered events are kept: {DURATION_FORMAT}",
    )
    prune.add_argument(
        "--batch",
        type=positive_int,
        default=1000,
        metavar="N",
        help="delete N events per transaction (1000)",
    )
    prune.set_defaults(run=_prune)


def _outbox(app: Application) -> Outbox:
    from facta.persistence import Outbox

    return app.get(Outbox)  # type: ignore[type-abstract]


def _plural(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else plural or word + 's'}"


async def _stats(args: argparse.Namespace) -> int:
    async with open_application(args.app) as app:
        stats = await _outbox(app).stats()
    if args.json:
        print_json(
            {
                "delivered": stats.delivered,
                "pending": stats.pending,
                "dead_letters": stats.dead_letters,
            }
        )
    else:
        rows = [
            ("delivered", stats.delivered),
            ("pending", stats.pending),
            ("dead letters", stats.dead_letters),
        ]
        echo("\n".join(f"{name:<12}  {count:>9}" for name, count in rows))
    return EXIT_OK


async def _pending(args: argparse.Namespace) -> int:
    async with open_application(args.app) as app:
        outbox = _outbox(app)
        events = await outbox.pending(limit=args.limit)
        total = (await outbox.stats()).pending if len(events) >= args.limit else len(events)
    if args.json:
        print_json(
            [
                {
                    "position": pending.position,
                    "event_id": str(pending.event.event_id),
                    "event_type": pending.event.event_type,
                    "aggregate_id": pending.event.aggregate_id,
                    "occurred_at": iso_time(pending.event.occurred_at, precise=True),
                    "settled": sorted(pending.settled),
                }
                for pending in events
            ]
        )
        return EXIT_OK
    if not events:
        echo("no pending events: every committed event is delivered or dead-lettered")
        return EXIT_OK
    columns = [
        Column("POSITION", right=True),
        Column("EVENT ID"),
        Column("TYPE"),
        Column("AGGREGATE"),
        Column("OCCURRED"),
        Column("SETTLED", flexible=True),
    ]
    rows = [
        (
            str(pending.position),
            str(pending.event.event_id),
            pending.event.event_type,
            pending.event.aggregate_id,
            iso_time(pending.event.occurred_at),
            ", ".join(sorted(pending.settled)) or "-",
        )
        for pending in events
    ]
    echo(table(columns, rows, terminal_width()))
    if total > len(events):
        note(f"showing the oldest {len(events)} of {total} pending events; see --limit")
    return EXIT_OK


async def _dead(args: argparse.Namespace) -> int:
    from facta.persistence import DeliveryStatus

    async with open_application(args.app) as app:
        outbox = _outbox(app)
        records = await outbox.deliveries(DeliveryStatus.DEAD, limit=args.limit)
        total = (await outbox.stats()).dead_letters if len(records) >= args.limit else 0
    if args.json:
        print_json([_dead_json(record) for record in records])
        return EXIT_OK
    if not records:
        echo("no dead letters")
        return EXIT_OK
    columns = [
        Column("EVENT ID"),
        Column("TYPE"),
        Column("AGGREGATE"),
        Column("HANDLER"),
        Column("ATTEMPTS", right=True),
        Column("WHEN"),
        Column("LAST ERROR", flexible=True),
    ]
    rows = [
        (
            str(record.event_id),
            record.event_type,
            record.aggregate_id,
            record.handler,
            str(record.attempts),
            iso_time(record.updated_at),
            first_line(record.last_error).removeprefix("builtins."),
        )
        for record in records
    ]
    echo(table(columns, rows, terminal_width()))
    if total > len(records):
        note(f"showing the newest {len(records)} of {total} dead letters; see --limit")
    return EXIT_OK


def _dead_json(record: DeliveryRecord) -> dict[str, object]:
    return {
        "event_id": str(record.event_id),
        "event_type": record.event_type,
        "aggregate_id": record.aggregate_id,
        "handler": record.handler,
        "attempts": record.attempts,
        "last_error": record.last_error,
        "dead_since": iso_time(record.updated_at, precise=True),
    }


async def _replay(args: argparse.Namespace) -> int:
    from facta.persistence import DeliveryStatus

    async with open_application(args.app) as app:
        outbox = _outbox(app)
        dead_count = (await outbox.stats()).dead_letters
        dead = await outbox.deliveries(DeliveryStatus.DEAD, limit=max(dead_count, 1))
        matches = [record for record in dead if args.event in (None, record.event_id)]
        handler = _resolve_handler(args.handler, matches)
        matches = [record for record in matches if handler in (None, record.handler)]
        scope = _replay_scope(args.event, handler or args.handler)
        if not matches:
            echo(f"nothing to replay: no dead letters{scope}")
            return EXIT_OK
        what = _plural(len(matches), "dead-lettered delivery", "dead-lettered deliveries")
        if not args.yes:
            if not _interactive():
                raise UsageError(
                    f"not replaying {what}{scope} without confirmation: stdin is not a "
                    f"terminal, so pass --yes"
                )
            if not _confirm(f"Replay {what}{scope}? Their events become due at once."):
                note("nothing replayed")
                return EXIT_FAILURE
        revived = await outbox.replay(args.event, handler)
    echo(
        f"revived {_plural(revived, 'delivery', 'deliveries')}{scope}; their events are due "
        f"now: a running relay delivers them, or `facta outbox relay --once`"
    )
    return EXIT_OK


def _resolve_handler(name: str | None, records: Sequence[DeliveryRecord]) -> str | None:
    """The full handler name that ``name`` means among the dead letters (exact or by its end)."""
    if name is None:
        return None
    names = {record.handler for record in records}
    if name in names:
        return name
    candidates = sorted(full for full in names if full.endswith("." + name))
    if len(candidates) > 1:
        raise UsageError(
            f"--handler {name} is ambiguous: it could be {', '.join(candidates)}; "
            f"give the full name"
        )
    return candidates[0] if candidates else name


def _replay_scope(event: UUID | None, handler: str | None) -> str:
    parts = []
    if event is not None:
        parts.append(f"of event {event}")
    if handler is not None:
        parts.append(f"of handler {handler}")
    return (" " + " and ".join(parts)) if parts else ""


def _confirm(question: str) -> bool:
    """Ask ``question`` on the terminal (on stderr, so stdout stays for results)."""
    sys.stderr.write(f"{question} [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def _interactive() -> bool:
    """Whether someone can answer a question: never block a script or a CI job on one."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError, OSError):
        return False


async def _relay(args: argparse.Namespace) -> int:
    from facta.integration import OutboxRelay
    from facta.persistence import DeliverySettings

    async with open_application(args.app) as app:
        outbox = _outbox(app)
        relay = OutboxRelay(outbox, app.mediator, app.get(DeliverySettings))
        before = await outbox.stats()  # also fails fast when the database is unreachable
        if not args.once:
            await _relay_until_stopped(relay, database_name(app))
            return EXIT_OK
        with Progress("relaying", before.pending) as bar:
            claimed = await relay.drain(progress=bar.advance)
        after = await outbox.stats()
    new_dead = after.dead_letters - before.dead_letters
    summary = (
        f"claimed {_plural(claimed, 'event')}; {after.pending} pending, "
        f"{_plural(after.dead_letters, 'dead letter')}"
    )
    if new_dead > 0:
        summary += f" ({new_dead} new: see `facta outbox dead`)"
    echo(summary)
    if after.pending:
        note(
            f"{_plural(after.pending, 'pending event')} not due yet "
            f"(retry backoff, grace period, or claimed by another relay)"
        )
    return EXIT_OK


async def _relay_until_stopped(relay: OutboxRelay, where: str | None) -> None:
    """Relay until SIGINT or SIGTERM, then stop after the events in hand, giving the rest of
    the batch back."""
    import asyncio  # loaded by then (the command runs in it); --help does without

    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    installed = []
    for number in signals:
        try:
            loop.add_signal_handler(number, stopping.set)
            installed.append(number)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not main thread
            pass
    try:
        await relay.start()
        note(f"relaying the outbox of {where or 'the application'}; Ctrl-C or SIGTERM stops")
        await stopping.wait()
        note("stopping after the events in hand (the rest are given back)...")
    finally:
        for number in installed:
            loop.remove_signal_handler(number)
        await relay.stop()
    note("stopped")


async def _prune(args: argparse.Namespace) -> int:
    from facta.domain import utc_now

    delivered_before = utc_now() - args.older_than
    async with open_application(args.app) as app:
        outbox = _outbox(app)
        before = await outbox.stats()  # at most ``delivered`` events can go (fewer: dead
        # letters are kept), so the bar is an upper bound that finishes when pruning does
        pruned = 0
        with Progress("pruning", before.delivered) as bar:
            while True:
                deleted = await outbox.prune(delivered_before, limit=args.batch)
                pruned += deleted
                if deleted:
                    bar.advance(deleted)
                if deleted < args.batch:
                    break
    echo(f"pruned {_plural(pruned, 'event')} delivered before {iso_time(delivered_before)}")
    if before.dead_letters:
        note(
            f"kept the events of {_plural(before.dead_letters, 'dead letter')}: "
            f"see `facta outbox dead`, then replay them"
        )
    return EXIT_OK
