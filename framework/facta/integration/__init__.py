"""The integration layer: getting events out of the outbox and across service boundaries."""

from facta.integration.relay import OutboxRelay

__all__ = ["OutboxRelay"]
