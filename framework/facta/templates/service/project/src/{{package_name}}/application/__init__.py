"""The application layer: commands, queries and the handlers that carry them out.

Each use case is one module: its message and its handler (``open_ticket.py``,
``get_ticket.py``); ``facta add command|query NAME`` adds one more.
"""
