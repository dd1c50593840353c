"""Random identifiers and event times, made on the hot path of every command.

``random_uuid`` is ``uuid.uuid4()`` without the generic checks of ``UUID.__init__``: the
same 122 random bits from ``os.urandom`` and the same version and variant bits, about
twice as fast. ``event_time`` is the current UTC time to the millisecond, the precision
every back-end stores exactly.
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


def random_uuid() -> UUID:
    """A random (version 4) UUID, as ``uuid.uuid4()`` makes it."""
    value = _from_bytes(_urandom(16)) & _VERSION_AND_VARIANT_CLEARED | _VERSION_4_RFC_4122
    identifier = _new(UUID)
    _set(identifier, "int", value)
    _set(identifier, "is_safe", _UNKNOWN)
    return identifier


_time_ns = time.time_ns
_from_timestamp = datetime.fromtimestamp


def event_time() -> datetime:
    """The current time in UTC, truncated to the millisecond."""
    milliseconds = _time_ns() // 1_000_000
    moment = _from_timestamp(milliseconds / 1000, UTC)
    if moment.microsecond % 1000:  # the float was rounded (far from now): exactly, then
        moment = _from_timestamp(milliseconds // 1000, UTC).replace(
            microsecond=milliseconds % 1000 * 1000
        )
    return moment
