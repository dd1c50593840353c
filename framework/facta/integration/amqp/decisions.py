"""What the consumer does with one delivery: ack it, dead-letter it, or retry it.

The decision is apart from the broker so that it can be reasoned about (and tested) on
its own: ``DeliveryPolicy.decide`` reads the message, has the ingestor handle its events,
and says what to do, telling failures retrying cannot fix from those that may pass:

- handled, or a duplicate (every handler's inbox receipt is there): **ack**;
- bad input — not a CloudEvent, over the ``IngestionLimits``, an attribute outside the
  type system, an unknown type, data that does not fit the contract — or a handler's
  permanent refusal (``PermanentFailure``, a ``DomainError``, a validation error):
  **dead-letter at once**, whatever the attempt;
- anything else (a store that is down, a handler that crashed): **retry** after a
  backoff (at once after a conflict with another writer), until ``max_attempts``
  deliveries, then dead-letter.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from facta.errors import ConcurrencyError, EventHandlingError
from facta.integration.amqp.codec import read_message
from facta.integration.cloudevents import DEFAULT_LIMITS
from facta.integration.ingestion import Ingestor, IngestResult, is_permanent
from facta.integration.limits import IngestionLimits

__all__ = ["Action", "Decision", "DeliveryPolicy"]


class Action(enum.Enum):
    """What to do with a delivery."""

    ACK = "ack"
    DEAD_LETTER = "dead-letter"
    RETRY = "retry"


@dataclass(frozen=True, slots=True)
class Decision:
    """The fate of one delivery: the action, the error behind it, the pause before a retry,
    and on an ack what each event did."""

    action: Action
    error: Exception | None = None
    delay: float = 0.0
    results: tuple[IngestResult, ...] = ()

    @property
    def handled(self) -> bool:
        """Whether a handler ran (False for an ack of duplicates only)."""
        return any(result.handled for result in self.results)


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How the consumer settles deliveries: limits, attempts and the retry backoff.

    A failed delivery is retried after ``retry_delay`` seconds, doubling per attempt up to
    ``max_retry_delay``, until it was delivered ``max_attempts`` times.
    """

    limits: IngestionLimits = DEFAULT_LIMITS
    max_attempts: int = 5
    retry_delay: float = 1.0
    max_retry_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    async def decide(
        self,
        ingestor: Ingestor,
        content_type: str | None,
        headers: Mapping[str, object],
        body: bytes,
        attempt: int,
    ) -> Decision:
        """Handle the events of one message (its ``attempt``-th delivery) and decide."""
        try:
            events = read_message(content_type, headers, body, limits=self.limits)
            results = (
                [await ingestor.ingest(events[0])]
                if len(events) == 1
                else await ingestor.ingest_all(events)
            )
        except Exception as error:
            return self.after_failure(error, attempt)
        return Decision(Action.ACK, results=tuple(results))

    def after_failure(self, error: Exception, attempt: int) -> Decision:
        """The decision for a delivery that failed with ``error`` on ``attempt``."""
        if is_permanent(error) or attempt >= self.max_attempts:
            return Decision(Action.DEAD_LETTER, error)
        if _conflict(error):
            return Decision(Action.RETRY, error)  # another writer won: at once sees its write
        delay = min(self.retry_delay * 2 ** (attempt - 1), self.max_retry_delay)
        return Decision(Action.RETRY, error, delay)


def _conflict(error: Exception) -> bool:
    if isinstance(error, ConcurrencyError):
        return True
    return (
        isinstance(error, EventHandlingError)
        and bool(error.failures)
        and all(isinstance(failure.error, ConcurrencyError) for failure in error.failures)
    )
