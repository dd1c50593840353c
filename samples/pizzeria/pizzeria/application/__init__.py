"""The pizzeria's application layer: commands, queries, their handlers and read models.

``ApplicationBuilder.scan("pizzeria.application")`` finds every handler defined here.
"""
