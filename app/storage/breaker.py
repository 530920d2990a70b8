"""A circuit breaker for a store that stopped answering: fail fast for a moment instead of waiting again.

Once a call found the store unreachable (after its own timeouts and retries), every call in the next
``cooldown`` seconds fails at once with the same error, so a hung S3 costs one request its timeouts
rather than every request, and threads are not held waiting on it. The first call after the cooldown
goes through: it closes the breaker, or opens it again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.storage.base import StorageUnavailableError


class Breaker:
    def __init__(self, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown, self.clock = cooldown, clock
        self._open_until = 0.0
        self._reason = ""
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise ``StorageUnavailableError`` at once while the breaker is open."""
        with self._lock:
            left = self._open_until - self.clock()
            if left > 0:
                raise StorageUnavailableError(f"{self._reason} (not tried again for {left:.0f}s)")

    def trip(self, reason: str) -> None:
        with self._lock:
            self._open_until, self._reason = self.clock() + self.cooldown, reason

    def close(self) -> None:
        with self._lock:
            self._open_until = 0.0
