"""Random identifiers and event times, made on the hot path of every command.

``random_uuid`` is ``uuid.uuid4()`` made in bulk: it reads the random bits of 128 ids in
one ``os.urandom`` call (the same operating-system randomness ``uuid4()`` uses), sets
their version and variant bits with two byte translations, and has pydantic-core build
the 128 ``UUID`` objects in one call, then hands them out one by one. Made one at a time,
a system call and three Python-level attribute sets per id cost more than the rest of a
command's ids. A forked child drops what its parent had read ahead, so the two never
hand out the same id. ``event_time`` is the current UTC time to the millisecond, the
precision every back-end stores exactly; the events of one millisecond share its
``datetime``.
"""

from __future__ import annotations

import os
import struct
import time
from datetime import UTC, datetime
from uuid import UUID

from pydantic_core import SchemaValidator, core_schema

__all__ = ["event_time", "random_uuid"]

_READ_AHEAD = 128  # ids per os.urandom call
_urandom = os.urandom
# byte 6 of a UUID holds its version in the high nibble, byte 8 its variant in the top
# two bits: these tables set them (version 4, RFC 4122) and keep the other random bits
_VERSION_4 = bytes(byte & 0x0F | 0x40 for byte in range(256))
_VARIANT_RFC_4122 = bytes(byte & 0x3F | 0x80 for byte in range(256))
_split = struct.Struct("16s" * _READ_AHEAD).unpack  # a block into 16-byte strings
_as_uuids = SchemaValidator(core_schema.list_schema(core_schema.uuid_schema())).validate_python

# The next ids, popped from the end. list.pop is atomic, so no two threads get the same
# one; whoever finds the list empty refills it.
_ahead: list[UUID] = []


def _read_ahead() -> None:
    block = bytearray(_urandom(16 * _READ_AHEAD))
    block[6::16] = block[6::16].translate(_VERSION_4)
    block[8::16] = block[8::16].translate(_VARIANT_RFC_4122)
    _ahead.extend(_as_uuids(_split(block)))


os.register_at_fork(after_in_child=_ahead.clear)


def random_uuid() -> UUID:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes it."""
    while True:
        try:
            return _ahead.pop()
        except IndexError:
            _read_ahead()


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
