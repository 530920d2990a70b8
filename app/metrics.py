"""What Prometheus scrapes from ``/metrics``: counters the app bumps where things happen, gauges read live.

One registry per app (tests run several apps in one process). The names follow Prometheus' conventions:
``_total`` for counters, base units (bytes). The registry is made when first counted or scraped, once: a
command that neither serves nor fails never loads prometheus_client (about 18 ms of each start).
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.storage import (
    ObjectNotFoundError,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)


class Metrics:
    def __init__(self, data_folder: Path, pending: Callable[[], int],
                 backup_age: Callable[[], float | None] = lambda: None) -> None:
        self.data_folder, self.pending, self.backup_age = data_folder, pending, backup_age
        self._made: dict[str, Any] = {}
        self._making = threading.Lock()  # a worker thread and a request may come first together

    def _metric(self, name: str) -> Any:
        with self._making:
            if not self._made:
                self._made = self._make()
            return self._made[name]

    def _make(self) -> dict[str, Any]:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        registry = CollectorRegistry()
        Gauge("ephitup_pending_uploads", "episodes waiting to reach S3", registry=registry).set_function(self.pending)
        Gauge("ephitup_disk_free_bytes", "free bytes on the data folder's disk", registry=registry).set_function(
            lambda: shutil.disk_usage(self.data_folder).free)
        Gauge("ephitup_records_backup_age_seconds", "age of the last good backup of the records (NaN: none yet)",
              registry=registry).set_function(lambda: float("nan") if (age := self.backup_age()) is None else age)
        return {
            "registry": registry,
            "finalized": Counter("ephitup_finalize", "finalize outcomes: stored (verified where it belongs), "
                                 "pending (kept on the disk, retried later), deleted (lost a race with a delete)",
                                 ["outcome"], registry=registry),
            "uploaded": Counter("ephitup_uploaded_bytes", "bytes uploaded to S3 and verified", registry=registry),
            "served": Counter("ephitup_served_bytes", "audio and source bytes sent to clients", registry=registry),
            "s3_errors": Counter("ephitup_s3_errors", "S3 calls that failed, by kind", ["kind"], registry=registry),
            "audio_answers": Counter("ephitup_audio_responses", "answers to audio requests, by HTTP status",
                                     ["status"], registry=registry),
        }

    @property
    def served(self) -> Any:
        return self._metric("served")

    @property
    def audio_answers(self) -> Any:
        return self._metric("audio_answers")

    def s3_error(self, error: StorageError) -> None:
        kind = ("unavailable" if isinstance(error, StorageUnavailableError) else "denied"
                if isinstance(error, StorageAccessDeniedError) else "not_found"
                if isinstance(error, ObjectNotFoundError) else "other")
        self._metric("s3_errors").labels(kind).inc()

    def finalize(self, outcome: str, uploaded_bytes: int = 0) -> None:
        self._metric("finalized").labels(outcome).inc()
        self._metric("uploaded").inc(uploaded_bytes)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self._metric("registry"))
