"""The domain: aggregates, the events they record and the rules they keep.

It imports nothing from the other layers of the service.
"""
