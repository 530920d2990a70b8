"""What Prometheus scrapes from ``/metrics``: counters the app bumps where things happen, gauges read live.

One registry per app (tests run several apps in one process). The names follow Prometheus' conventions:
``_total`` for counters, base units (bytes).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from app.storage import (
    ObjectNotFoundError,
    StorageAccessDeniedError,
    StorageError,
    StorageUnavailableError,
)


class Metrics:
    def __init__(self, data_folder: Path, pending: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        self.finalized = Counter("ephitup_finalize", "finalize outcomes: stored (verified where it belongs), "
                                 "pending (kept on the disk, retried later), deleted (lost a race with a delete)",
                                 ["outcome"], registry=self.registry)
        self.uploaded = Counter("ephitup_uploaded_bytes", "bytes uploaded to S3 and verified", registry=self.registry)
        self.served = Counter("ephitup_served_bytes", "audio and source bytes sent to clients", registry=self.registry)
        self.s3_errors = Counter("ephitup_s3_errors", "S3 calls that failed, by kind", ["kind"], registry=self.registry)
        self.audio_answers = Counter("ephitup_audio_responses", "answers to audio requests, by HTTP status",
                                     ["status"], registry=self.registry)
        Gauge("ephitup_pending_uploads", "episodes waiting to reach S3", registry=self.registry).set_function(pending)
        Gauge("ephitup_disk_free_bytes", "free bytes on the data folder's disk", registry=self.registry).set_function(
            lambda: shutil.disk_usage(data_folder).free)

    def s3_error(self, error: StorageError) -> None:
        kind = ("unavailable" if isinstance(error, StorageUnavailableError) else "denied"
                if isinstance(error, StorageAccessDeniedError) else "not_found"
                if isinstance(error, ObjectNotFoundError) else "other")
        self.s3_errors.labels(kind).inc()

    def finalize(self, outcome: str, uploaded_bytes: int = 0) -> None:
        self.finalized.labels(outcome).inc()
        self.uploaded.inc(uploaded_bytes)

    def text(self) -> bytes:
        return generate_latest(self.registry)
