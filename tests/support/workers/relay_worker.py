"""A relay worker process: drains the outbox of URL until nothing is due, then exits.

Run as ``python -m support.workers.relay_worker URL`` with ``FACTA_TIMING_LOG`` set.
"""

from __future__ import annotations

import asyncio
import sys

from facta import OutboxRelay
from facta.persistence.sqlalchemy import SqlAlchemyPersistence
from support.tally import TimedDeposits, tally_builder


async def main(url: str) -> None:
    app = tally_builder(SqlAlchemyPersistence(url), TimedDeposits).build()
    relay = app.get(OutboxRelay)
    delivered = await relay.drain()
    print(f"DRAINED {delivered}", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
