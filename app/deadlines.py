"""A client-side deadline for blocking socket I/O: pgJDBC's ``socketTimeout`` for psycopg.

A server that stopped (SIGSTOP, a hung host) or sits behind a network partition answers nothing: its own
statement timeout never fires, and its kernel may still answer keepalives. libpq then waits forever. Here,
one watcher thread shuts down the socket of any query still running at its deadline; the blocked wait
wakes at once, the driver raises, and the pool drops the connection.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class SocketDeadlines:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._due: dict[int, tuple[float, int]] = {}  # token -> (deadline, socket's file descriptor)
        self._tokens = itertools.count()
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None

    @contextmanager
    def bound(self, fileno: int) -> Iterator[None]:
        """The I/O inside runs until ``seconds`` from now at most; past that its socket is shut down.

        The entry leaves under the lock before the caller can close or reuse ``fileno``, so the watcher never
        shuts down a descriptor the socket no longer owns."""
        token = next(self._tokens)
        with self._changed:
            self._due[token] = (time.monotonic() + self.seconds, fileno)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="ephitup-socket-deadlines", daemon=True)
                self._watcher.start()
            self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._due.pop(token, None)

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for token, (deadline, fileno) in list(self._due.items()):
                    if deadline <= now:
                        del self._due[token]
                        _shut_down(fileno)
                next_deadline = min((deadline for deadline, _ in self._due.values()), default=None)
                self._changed.wait(None if next_deadline is None else next_deadline - now)


def _shut_down(fileno: int) -> None:
    try:  # a duplicate of the descriptor: shutdown acts on the socket itself, close only on the duplicate
        with socket.socket(fileno=os.dup(fileno)) as duplicate:
            duplicate.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by its peer
