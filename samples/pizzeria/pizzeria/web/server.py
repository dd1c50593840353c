"""Serving the pizzeria with uvicorn: ``python -m pizzeria serve``, or in a thread.

uvicorn waits for open connections to close before it ends the app's lifespan, and a
board's event stream never closes by itself; ``PizzeriaServer`` therefore closes the
board's streams as soon as the server starts shutting down, so Ctrl+C stops it at once.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

import uvicorn
from fastapi import FastAPI

from facta import Application
from facta.hosting import LOG_FORMAT, LogContext
from pizzeria.settings import DEV_MANAGER_TOKEN, DEV_STAFF_TOKEN, PizzeriaSettings
from pizzeria.web.app import create_web_app
from pizzeria.web.board import BoardChanges

__all__ = ["DEFAULT_DATABASE_URL", "PizzeriaServer", "banner", "serve", "serve_in_thread"]

DEFAULT_DATABASE_URL = "sqlite:///pizzeria.db"
"""Where ``serve`` keeps the data when no database URL is set: a file in the current folder."""

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class PizzeriaServer(uvicorn.Server):
    """uvicorn's server for the pizzeria's app: it ends the board's streams at shutdown."""

    def __init__(self, config: uvicorn.Config, api: FastAPI) -> None:
        super().__init__(config)
        application: Application = api.state.facta
        self._changes = application.get(BoardChanges)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the board's event streams, then shut down as uvicorn does."""
        self._changes.close()
        await super().shutdown(sockets)

    @property
    def port(self) -> int:
        """The port the server listens on (the one the OS chose for port 0)."""
        port: int = self.servers[0].sockets[0].getsockname()[1]
        return port


def _server(api: FastAPI, host: str, port: int, log_level: str) -> PizzeriaServer:
    config = uvicorn.Config(
        api,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    return PizzeriaServer(config, api)


def serve(
    settings: PizzeriaSettings, *, log_level: str = "info", out: TextIO | None = None
) -> None:
    """Serve the pizzeria on ``settings.host:settings.port`` until interrupted (Ctrl+C)."""
    out = sys.stdout if out is None else out
    api = create_web_app(settings)
    _log_with_trace_ids(api.state.facta)
    print(banner(settings), file=out, flush=True)
    if settings.uses_development_tokens and settings.host not in _LOOPBACK:
        print(
            f"WARNING: serving on {settings.host} with a development token: anyone who reads "
            f"the README can change the menu. Set real tokens.",
            file=sys.stderr,
            flush=True,
        )
    _server(api, settings.host, settings.port, log_level).run()


def banner(settings: PizzeriaSettings) -> str:
    """What ``serve`` prints at start-up: where to go, where the data and events go."""
    url = f"http://{settings.host}:{settings.port}"
    if settings.uses_development_tokens:
        tokens = (
            f"development defaults: manager {DEV_MANAGER_TOKEN!r}, staff {DEV_STAFF_TOKEN!r} "
            f"(set {PizzeriaSettings.variable('manager_token')} and "
            f"{PizzeriaSettings.variable('staff_token')} for real ones)"
        )
    else:
        tokens = "from the environment"
    return (
        f"Mario's Pizzeria is open on {url}\n"
        f"  kitchen board  {url}/board\n"
        f"  API docs       {url}/docs\n"
        f"  data           {settings.describe()}\n"
        f"  tokens         {tokens}\n"
        f"  events         {settings.describe_events()}\n"
        f"Press Ctrl+C to stop."
    )


def _log_with_trace_ids(application: Application) -> None:
    """Warnings and errors of facta and the pizzeria go to stderr with the trace id and
    the correlation id of the work they come from."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    LogContext(application).install(handler)
    logging.getLogger().addHandler(handler)


@contextmanager
def serve_in_thread(
    api: FastAPI, *, host: str = "127.0.0.1", port: int = 0, timeout: float = 20.0
) -> Iterator[str]:
    """Serve ``api`` with uvicorn in a background thread; yields its base URL.

    Port 0 (the default) lets the OS choose a free port. The server is stopped, its
    streams closed and its lifespan ended, when the block ends. For tests and notebooks.
    """
    server = _server(api, host, port, log_level="warning")
    thread = threading.Thread(target=server.run, name="pizzeria-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(timeout)
            raise RuntimeError(f"the pizzeria's server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{server.port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
