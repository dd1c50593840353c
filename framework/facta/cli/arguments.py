"""Argument types shared by the commands: strict parsers that argparse turns into exit 2.

Each raises ``argparse.ArgumentTypeError`` with a message that shows the accepted form,
which argparse prints after the command's usage line.
"""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from uuid import UUID

__all__ = ["DURATION_FORMAT", "event_id", "parse_duration", "positive_int"]

DURATION_FORMAT = "a whole number and a unit: s, m, h, d or w (e.g. 30m, 12h, 7d)"
"""The accepted form of a duration, as error messages and ``--help`` state it."""

_DURATION = re.compile(r"([0-9]{1,12})([smhdw])")
_LONGEST = timedelta(days=36500)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """Read a duration such as ``30m``, ``12h`` or ``7d`` strictly: one number, one unit."""
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration: use {DURATION_FORMAT}")
    try:
        duration = timedelta(**{_UNITS[match[2]]: int(match[1])})
    except OverflowError:
        duration = _LONGEST + _LONGEST
    if duration > _LONGEST:
        raise argparse.ArgumentTypeError(f"{text!r} is too long: at most 100 years (36500d)")
    return duration


def positive_int(text: str) -> int:
    """A whole number of at least 1 (for limits and batch sizes)."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def event_id(text: str) -> UUID:
    """An event id: a UUID as ``facta outbox dead`` prints it."""
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an event id (a UUID, as `facta outbox dead` prints them)"
        ) from None
