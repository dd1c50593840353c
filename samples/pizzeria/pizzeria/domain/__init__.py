"""The pizzeria's domain model: menu, customers, orders and the kitchen.

It imports only ``facta.domain`` and ``facta.errors``: the rules can be read and tested
without any application or persistence machinery.
"""
