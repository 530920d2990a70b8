"""The clean-up a crash may have left, run in the background once the app serves, so that start-up does not
wait on the size of the library: interrupted writes (``.part`` files older than an hour) and audio written
just before a crash whose record never came. Only files written before this start are considered, so a
request's upload in progress is never taken for one; ``/health`` says the clean-up is running until it ends.

Only after a crash: a clean stop leaves a mark on the disk, and any process's first write there takes it away
(``LocalStorage.take_clean_stop``), so a deploy's restart does not walk a library of a million files again. A
look that a clean stop cuts short goes on at the next start from the last file it reached (the listing is in
key order and starts after it), so restarts that come quicker than a walk still finish it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from app.background import Gate
from app.episodes import Episodes
from app.health import Problem

log = logging.getLogger("ephitup")


RESUME = "resume after "  # a clean stop's note when it cut the look short: the last key looked at follows


class ShuttingDown(Exception):
    """The app closes its records: the clean-up stops, to run again at the next start."""


class CrashCleanup:
    def __init__(self, episodes: Episodes, gate: Gate, clock: Callable[[], float] = time.time) -> None:
        self.episodes, self.gate = episodes, gate
        self.started_at = clock()
        note = episodes.local.take_clean_stop()  # None: a crash (or a first start) since the last clean stop
        self.finished = note == ""  # the last stop was clean, after a look that had ended: nothing to look for
        self.reached = note[len(RESUME):] if note and note.startswith(RESUME) else ""  # cut short: goes on
        self.done = self.finished
        self.error: str | None = None

    def run(self) -> None:
        if self.finished:
            return
        try:
            for key in self.episodes.local.remove_partials():  # never referenced by a record
                log.info("removed an interrupted write: %s", key)
            for key in self.episodes.remove_unrecorded_audio(self._recorded, written_before=self.started_at,
                                                             start_after=self.reached, reached=self._reach):
                log.info("removed audio a crash left before its record was written: %s", key)
            self.finished = True
        except ShuttingDown:
            pass
        except Exception as error:  # noqa: BLE001 (reported in /health; the next start runs it again)
            self.error = f"{type(error).__name__}: {error}"
            log.warning("start-up clean-up failed: %s", self.error)
        finally:
            self.done = True

    def _reach(self, key: str) -> None:
        self.reached = key

    def stopped(self) -> None:
        """The app stopped cleanly (every request ended): the next start skips the look, or goes on with it from
        where this one stopped (files before that were looked at; nothing this run wrote is a crash's)."""
        if self.finished:
            self.episodes.local.mark_clean_stop()
        elif self.error is None:
            self.episodes.local.mark_clean_stop(RESUME + self.reached)

    def _recorded(self, id_prefix: str) -> bool:
        """One indexed lookup per file, under the gate for just that: memory and the records' lock stay bounded
        whatever the size of the library."""
        with self.gate.open() as usable:
            if not usable:
                raise ShuttingDown
            return self.episodes.records.has_id_starting(id_prefix)

    def problems(self) -> list[Problem]:
        if not self.done:
            return [Problem("warning", "start-up clean-up is running (interrupted writes, audio a crash left "
                                       "without a record); the app serves meanwhile")]
        if self.error:
            return [Problem("warning", f"start-up clean-up failed: {self.error}; it runs again at the next start")]
        return []
