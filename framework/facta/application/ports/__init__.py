"""The application's ports: the contracts that storage back-ends implement.

The unit of work's contract and its commit algorithm (``UnitOfWork``: commit, then hand
the events on), the outbox's contract and its delivery state machine (``Outbox``), the
view store, the projection store and the event store are the application's; the
back-ends in ``facta.persistence`` (in memory, SQLAlchemy, MongoDB) implement their hooks
and never call the mediator. The policy around them lives beside this package:
``facta.application.event_flow`` (stamping, inline projections, dispatch after commit),
``facta.application.transaction`` (commit when a handler returns) and
``facta.application.projection_order`` (each aggregate's events in order).
"""
