"""Progress of a long command on stderr: a bar redrawn in place on a terminal, a plain line
per step otherwise (in CI logs, or piped to a file), so stdout stays for results.
"""

from __future__ import annotations

import shutil
import sys
import time
from types import TracebackType
from typing import TextIO

__all__ = ["Progress"]

_CLEAR_LINE = "\r\x1b[K"


class Progress:
    """Counts work done towards an expected ``total`` and shows it on ``stream``.

    ``total`` is an estimate: when more is done than expected it grows, and ``finish()``
    fills the bar however far it got, since the work is over. Use it as a context manager
    or call ``finish()`` yourself; ``advance`` fits ``OutboxRelay.drain(progress=...)``.
    """

    def __init__(
        self, label: str, total: int, *, unit: str = "events", stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = max(0, total)
        self.unit = unit
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._tty = _isatty(self._stream)
        self._started = time.monotonic()
        self._finished = False
        if self._tty:
            self._draw()

    def advance(self, count: int) -> None:
        """Record ``count`` more units of work done, and show the new state."""
        self.done += count
        self.total = max(self.total, self.done)
        if self._tty:
            self._draw()
        else:
            self._stream.write(f"{self.label}: {self.done}/{self.total} {self.unit}\n")
            self._stream.flush()

    def finish(self) -> None:
        """End the display (the bar full and its line ended); idempotent."""
        if self._finished:
            return
        self._finished = True
        if self._tty:
            self.total = self.done
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def render(self, width: int) -> str:
        """The bar as one line of at most ``width`` characters."""
        elapsed = time.monotonic() - self._started
        counts = f" {self.done}/{self.total} {self.unit} {elapsed:.1f}s"
        room = width - len(self.label) - len(counts) - 3
        if room < 5:
            return f"{self.label}:{counts}"[:width]
        fraction = 1.0 if self.total == 0 else self.done / self.total
        filled = round(room * fraction)
        full, empty = ("█", "░") if _can_encode(self._stream, "█░") else ("#", "-")
        return f"{self.label} |{full * filled}{empty * (room - filled)}|{counts}"

    def _draw(self) -> None:
        width = shutil.get_terminal_size().columns - 1
        self._stream.write(_CLEAR_LINE + self.render(width))
        self._stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.finish()
        elif self._tty:  # leave what was drawn, end its line for the error that follows
            self._finished = True
            self._stream.write("\n")
            self._stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
