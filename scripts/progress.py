"""Progress for long work, drawn here rather than by the workers: a bar on a terminal, lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO


class Progress:
    """Call ``advance(size, moved)`` once per finished file, from any thread: only moved bytes count as sent (a
    rerun finds its files in place, and says so)."""

    def __init__(self, total_files: int, total_bytes: int, out: TextIO | None = None, interval: float = 2.0) -> None:
        self.total_files, self.total_bytes, self.interval = total_files, total_bytes, interval
        self.out = out or sys.stderr
        self.files = self.bytes = self.in_place = 0
        self.started = self.last = time.monotonic()
        self.tty = self.out.isatty()
        self.lock = threading.Lock()

    def advance(self, size: int, moved: bool = True) -> None:
        with self.lock:
            self.files += 1
            if moved:
                self.bytes += size
            else:
                self.in_place += 1
            now = time.monotonic()
            if self.tty or now - self.last >= self.interval or self.files == self.total_files:
                self.last = now
                self._show(now)

    def _show(self, now: float) -> None:
        rate = self.bytes / 2**20 / max(now - self.started, 1e-6)
        in_place = f" ({self.in_place} already in place)" if self.in_place else ""
        text = (f"{self.files}/{self.total_files} files{in_place}, {self.bytes / 2**20:.1f}/"
                f"{self.total_bytes / 2**20:.1f} MiB sent, {rate:.1f} MiB/s")
        if self.tty:
            filled = int(30 * self.files / max(self.total_files, 1))
            self.out.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {text}")
            if self.files == self.total_files:
                self.out.write("\n")
        else:
            self.out.write(f"progress: {text}\n")
        self.out.flush()
