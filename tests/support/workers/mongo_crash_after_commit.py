"""``crash_after_commit`` on MongoDB: commits deposits and freezes right after the N-th commit.

Run as ``python -m support.workers.mongo_crash_after_commit URL N CLIENT`` (``tests`` on
the path; CLIENT is ``mongo-pymongo`` or ``mongo-motor``). It prints ``COMMITTED`` once
the N-th commit is durable and then blocks, so the test can SIGKILL it at that point.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Sequence

from facta.persistence import EventFlow, OutboxEntry
from facta.persistence.mongo import MongoPersistence
from support.bank import Deposit
from support.mongo import open_client
from support.tally import tally_builder


async def main(url: str, freeze_after: int, kind: str) -> None:
    async with open_client(kind, url) as client:
        app = tally_builder(MongoPersistence(client=client)).build()
        commits = 0
        dispatch = EventFlow.dispatch

        async def dispatch_or_freeze(self: EventFlow, entries: Sequence[OutboxEntry]) -> None:
            nonlocal commits
            commits += 1
            if commits == freeze_after:
                print("COMMITTED", flush=True)
                time.sleep(60)  # the test kills us here: committed, never dispatched
            await dispatch(self, entries)

        EventFlow.dispatch = dispatch_or_freeze  # type: ignore[method-assign]
        while True:
            await app.mediator.send(Deposit(account_id="ann", amount=1))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))
