"""The integration layer: getting events out of the outbox and across service boundaries."""

import typing

from facta import _lazy

if typing.TYPE_CHECKING:
    from facta.integration.relay import OutboxRelay
else:
    __getattr__, __dir__ = _lazy.lazy_exports(
        globals(),
        {
            "facta.integration.relay": ("OutboxRelay",),
        },
    )

__all__ = ["OutboxRelay"]
