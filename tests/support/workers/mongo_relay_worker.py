"""``relay_worker`` on MongoDB: drains the outbox of URL until nothing is due, then exits.

Run as ``python -m support.workers.mongo_relay_worker URL CLIENT`` with ``FACTA_TIMING_LOG``
set (CLIENT is ``mongo-pymongo`` or ``mongo-motor``).
"""

from __future__ import annotations

import asyncio
import sys

from facta import OutboxRelay
from facta.persistence.mongo import MongoPersistence
from support.mongo import open_client
from support.tally import TimedDeposits, tally_builder


async def main(url: str, kind: str) -> None:
    async with open_client(kind, url) as client:
        app = tally_builder(MongoPersistence(client=client), TimedDeposits).build()
        delivered = await app.get(OutboxRelay).drain()
    print(f"DRAINED {delivered}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
