"""Mario's Pizzeria as a web service: the HTTP API of ``PIZZERIA.md`` and a live kitchen board.

``create_web_app(settings)`` (``pizzeria.web.app``) gives the FastAPI app;
``python -m pizzeria serve`` runs it with uvicorn (``pizzeria.web.server``). The routes
are in ``api``, their bodies in ``schemas``, who may call what in ``auth``, and the board
with its Server-Sent Events in ``board``. Needs ``pip install facta[web,sqlalchemy]``.
"""

from pizzeria.web.app import create_web_app

__all__ = ["create_web_app"]
