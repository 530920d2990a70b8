"""Run a plan's items on a bounded pool; progress goes to a subscriber callback, never to a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from app.moves.plan import Item, Report, Work
from app.records import RecordNotFoundError
from app.storage import StorageError

Handler = Callable[[Item], bool]  # True: already in place, nothing transferred
Task = tuple[Work, Callable[[], bool]]  # a unit of work, and its handler bound to it
Subscriber = Callable[[Work, bool], None]  # once per finished item, success or not: True when bytes were moved


def _hint(error: Exception) -> str:
    """What to do about a failure a rerun cannot fix by itself."""
    if isinstance(error, FileNotFoundError):
        return (" (gone from its store: every rerun fails on it. `ephitup orphans` lists such records; delete the "
                "episode with DELETE /api/podcasts/episodes/<id>, or put the file back)")
    return ""


def run(tasks: Sequence[Task], concurrency: int, on_done: Subscriber = lambda *_: None) -> Report:
    """Each task on the pool; an expected failure is reported, a bug propagates."""
    if concurrency < 1:
        raise ValueError(f"--concurrency {concurrency}: must be at least 1")
    report = Report()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ephitup-move") as pool:
        futures = {pool.submit(handle): work for work, handle in tasks}
        for future in as_completed(futures):
            item, moved = futures[future], False
            try:
                in_place = future.result()
                (report.skipped if in_place else report.done).append(item)
                moved = not in_place
            except RecordNotFoundError:  # the live app deleted it while the move ran: nothing left to move
                report.gone.append(item)
            except (StorageError, OSError, KeyError, ValueError) as error:
                report.failed.append((item, f"{type(error).__name__}: {error}{_hint(error)}"))
            on_done(item, moved)
    report.seconds = time.monotonic() - started
    return report
