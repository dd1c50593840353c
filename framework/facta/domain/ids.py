"""Random identifiers and event times, made on the hot path of every command.

``random_uuid`` is ``uuid.uuid4()`` without the generic checks of ``UUID.__init__``: the
same 122 random bits from ``os.urandom`` and the same version and variant bits. It reads
the random bits for 128 ids in one ``os.urandom`` call and hands them out one by one: a
system call per id cost more than the rest of the id (each operation makes two). The bits
are the same operating-system randomness ``uuid4()`` uses; a forked child drops what
its parent had read ahead, so the two never hand out the same id. ``event_time`` is the
current UTC time to the millisecond, the precision every back-end stores exactly; the
events of one millisecond share its ``datetime``.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from uuid import UUID, SafeUUID

__all__ = ["event_time", "random_uuid"]

_VERSION_AND_VARIANT_CLEARED = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_VERSION_4_RFC_4122 = (4 << 76) | (0x8000 << 48)
_new = object.__new__
_set = object.__setattr__
_urandom = os.urandom
_from_bytes = int.from_bytes
_UNKNOWN = SafeUUID.unknown
_READ_AHEAD = 128  # ids per os.urandom call

# The values of the next ids, popped from the end. list.pop is atomic, so no two threads
# get the same value; whoever finds the list empty refills it.
_ahead: list[int] = []


def _read_ahead() -> None:
    block = _urandom(16 * _READ_AHEAD)
    _ahead.extend(
        [
            _from_bytes(block[start : start + 16]) & _VERSION_AND_VARIANT_CLEARED
            | _VERSION_4_RFC_4122
            for start in range(0, 16 * _READ_AHEAD, 16)
        ]
    )


os.register_at_fork(after_in_child=_ahead.clear)


def random_uuid() -> UUID:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes it."""
    while True:
        try:
            value = _ahead.pop()
            break
        except IndexError:
            _read_ahead()
    identifier = _new(UUID)
    _set(identifier, "int", value)
    _set(identifier, "is_safe", _UNKNOWN)
    return identifier


_time_ns = time.time_ns
_from_timestamp = datetime.fromtimestamp


# The last millisecond asked for and its datetime: events made in the same millisecond
# share it (a datetime is immutable), which spares most of the conversions under load.
_last: tuple[int, datetime] = (-1, datetime.min)


def event_time() -> datetime:
    """The current time in UTC, truncated to the millisecond."""
    global _last
    milliseconds = _time_ns() // 1_000_000
    last = _last
    if last[0] == milliseconds:
        return last[1]
    moment = _from_timestamp(milliseconds / 1000, UTC)
    if moment.microsecond % 1000:  # the float was rounded (far from now): exactly, then
        moment = _from_timestamp(milliseconds // 1000, UTC).replace(
            microsecond=milliseconds % 1000 * 1000
        )
    _last = (milliseconds, moment)
    return moment
