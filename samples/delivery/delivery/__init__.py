"""Mario's delivery service: a second facta service that listens to the pizzeria.

It consumes two of the pizzeria's CloudEvents over RabbitMQ and keeps its own model of
the deliveries:

- ``com.mariospizzeria.order.placed.v1``: a delivery is *planned* (address, pizzas,
  what to collect);
- ``com.mariospizzeria.order.delivered.v1``: the delivery is *delivered*, by whom.

``delivery.contracts`` holds the service's own copies of those two contracts (a
consumer owns the model it reads with, and reads only what it needs),
``delivery.domain`` the ``Delivery`` aggregate, ``delivery.handlers`` the integration
event handlers, ``delivery.board`` and ``delivery.queries`` the read side (the open
deliveries), ``delivery.app`` the composition root and ``python -m delivery`` the
command line. Nothing is imported here.
"""
