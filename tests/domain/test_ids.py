"""random_uuid: version 4 UUIDs from random bits read ahead, never handed out twice;
event_time: now, in UTC, to the millisecond."""

from __future__ import annotations

import os
import pickle
import threading
import time
from datetime import UTC, datetime, timedelta
from uuid import UUID, SafeUUID

import pytest

from facta.domain.ids import event_time, random_uuid


def test_random_uuids_are_version_4_of_rfc_4122() -> None:
    for _ in range(300):  # more than one read-ahead block
        identifier = random_uuid()

        assert identifier.version == 4
        assert identifier.variant == "specified in RFC 4122"
        assert UUID(str(identifier)) == identifier


def test_random_uuids_are_plain_uuids_as_uuid4_makes_them() -> None:
    identifier = random_uuid()

    assert type(identifier) is UUID
    assert identifier.is_safe is SafeUUID.unknown
    assert pickle.loads(pickle.dumps(identifier)) == identifier
    assert hash(identifier) == hash(UUID(int=identifier.int))


def test_random_uuids_do_not_repeat_across_read_ahead_blocks() -> None:
    ids = [random_uuid() for _ in range(10_000)]

    assert len(set(ids)) == len(ids)


def test_threads_drawing_at_once_never_get_the_same_uuid() -> None:
    drawn: list[list[UUID]] = [[] for _ in range(8)]

    def draw(into: list[UUID]) -> None:
        into.extend(random_uuid() for _ in range(2_000))

    threads = [threading.Thread(target=draw, args=(into,)) for into in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = [identifier for ids in drawn for identifier in ids]
    assert len(set(every)) == len(every) == 16_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_does_not_hand_out_its_parents_next_uuids() -> None:
    random_uuid()  # the parent has ids read ahead
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reading)
        os.write(writing, "\n".join(str(random_uuid()) for _ in range(50)).encode())
        os._exit(0)
    os.close(writing)
    parents = {random_uuid() for _ in range(50)}
    with os.fdopen(reading) as pipe:
        childs = {UUID(line) for line in pipe.read().splitlines()}
    os.waitpid(child, 0)

    assert len(childs) == 50
    assert not parents & childs


def test_event_time_is_now_in_utc_to_the_millisecond() -> None:
    before = datetime.now(UTC) - timedelta(milliseconds=1)

    moment = event_time()

    assert moment.tzinfo is UTC
    assert moment.microsecond % 1000 == 0
    assert before <= moment <= datetime.now(UTC)


def test_event_time_moves_on_with_the_clock() -> None:
    first = event_time()
    time.sleep(0.003)

    assert event_time() > first
