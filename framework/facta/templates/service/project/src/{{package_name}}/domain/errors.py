"""The service's business errors: each one a rule that refused an operation.

```
facta.DomainError
└── TicketAlreadyClosed   a closed ticket cannot be closed again
```

A ``DomainError`` that reaches the HTTP API is answered with 409 Conflict.
"""

from __future__ import annotations

from facta import DomainError

__all__ = ["TicketAlreadyClosed"]


class TicketAlreadyClosed(DomainError):
    """The ticket was closed already; its resolution stays as it was."""

    def __init__(self, ticket_id: str) -> None:
        self.ticket_id = ticket_id
        super().__init__(f"ticket {ticket_id} is closed already")
