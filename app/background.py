"""The app's background passes: each object owns its loop; one gate keeps them off what ``close`` tears down.

Render disks attach to one service only, so these run inside the web process: the reconciler (pending
uploads, leftover local copies) and the health checks (``app.health.Watch``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app.databases import DatabaseUnavailableError
from app.episodes import Episodes
from app.storage import StorageError

log = logging.getLogger("ephitup")


class Gate:
    """Held by a background pass while it runs; ``close`` takes it, so nothing a pass uses is closed under it
    (closing the records under a pass crashed the process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def open(self) -> Iterator[bool]:
        """Held for the block; True while the parts are still open."""
        with self._lock:
            yield not self._closed

    def close(self, tear_down: Callable[[], None]) -> None:
        """Wait for a pass still running in its thread (a cancelled task does not stop it), then tear down."""
        with self._lock:
            self._closed = True
            tear_down()


async def every(seconds: float, step: Callable[[], object], what: str) -> None:
    """``step`` on a worker thread, then a pause, forever; a crash is a bug: logged loudly, the loop goes on."""
    import asyncio  # the serving app's loop only: a CLI command never loads asyncio

    while True:
        try:
            await asyncio.to_thread(step)
        except (DatabaseUnavailableError, StorageError) as error:  # expected while a store is away: one line
            log.warning("%s skipped: %s", what, error)
        except Exception:
            log.exception("%s crashed", what)
        await asyncio.sleep(seconds)


class Reconciler:
    """Pending uploads retried and leftover local copies removed; a forced first pass finishes what a crash left."""

    def __init__(self, episodes: Episodes, gate: Gate, interval: float) -> None:
        self.episodes, self.gate, self.interval = episodes, gate, interval
        self.error: str | None = None  # the last pass's failure, for /health
        self._forced_once = False

    def once(self, force: bool = False) -> None:
        with self.gate.open() as usable:
            if usable:
                self._pass(force)

    def _pass(self, force: bool) -> None:
        try:
            report = self.episodes.reconcile(force=force)
            self.error = None
        except StorageError as error:  # storage trouble is expected and retried; bugs propagate
            self.error = str(error)
            log.warning("reconcile pass failed: %s", error)
            return
        except Exception as error:
            self.error = f"{type(error).__name__}: {error}"
            raise
        if report.uploaded or report.local_copies_removed:
            log.info("reconciled: uploaded %s, removed local copies of %s",
                     report.uploaded, report.local_copies_removed)

    def _due(self) -> None:
        self.once(force=not self._forced_once)
        self._forced_once = True

    async def forever(self) -> None:
        await every(self.interval, self._due, "reconcile pass")
