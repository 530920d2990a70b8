"""The composition root: the only place that builds storage backends, records and services.

The app (``Runtime.start``), every CLI command (``Runtime.open``, ``s3_storage``) and the seed's
compatibility functions get their parts here, so there is one way to assemble them and one message
when S3 is required but not configured. Render disks attach to one service only, so the reconciler
runs inside the web process (``reconcile_forever``).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

from app.databases import open_database
from app.episodes import Episodes
from app.health import Problem, Watch, disk_problems, read_disk
from app.records import Records
from app.settings import Settings, SettingsError, StorageDecision
from app.sources import Sources
from app.storage import LocalStorage, Storage, StorageError
from app.storage.stores import Stores

if TYPE_CHECKING:
    from app.metrics import Metrics

log = logging.getLogger("ephitup")


def s3_storage(settings: Settings) -> Storage:
    """The configured object store; the one refusal when S3 is needed and not set up."""
    missing = settings.missing_s3_settings()
    if missing:
        raise SettingsError(f"S3 is not configured: {', '.join(missing)} not set (run with the app's environment, "
                            "e.g. `set -a; . ./.env; set +a`)")
    from app.storage.s3 import S3Storage  # botocore is imported only where S3 is used

    return S3Storage(settings)


@dataclass
class Runtime:
    settings: Settings
    decision: StorageDecision
    records: Records
    stores: Stores
    episodes: Episodes
    sources: Sources
    watch: Watch
    startup_problems: list[Problem] = field(default_factory=list)
    reconcile_error: str | None = None
    # Held by a background pass while it runs; close() takes it, so nothing it uses is closed under it.
    _busy: threading.Lock = field(default_factory=threading.Lock)
    _closed: bool = False
    _metrics: Metrics | None = None
    _metrics_made: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings | None = None, require_s3: bool = False) -> Runtime:
        """Records and stores as the environment selects them (``require_s3``: S3 or a ``SettingsError``)."""
        settings = settings or Settings.from_env()
        decision = settings.decide_storage()
        remote = s3_storage(settings) if decision.mode == "s3" or require_s3 else None
        stores = Stores(LocalStorage(settings.data_folder), remote, scaled=settings.topology == "scaled")
        records = Records(open_database(settings.database_url_value, settings.data_folder))
        problems = [Problem("warning", message) for message in decision.problems]
        watch = Watch(records, stores, pending_alert_seconds=settings.pending_alert_minutes * 60)
        episodes = Episodes(records, stores)
        runtime = cls(settings, decision, records, stores, episodes, Sources(records, stores), watch, problems)
        if remote is not None:
            remote.on_error = lambda error: runtime.metrics.s3_error(error)
        episodes.observe = lambda outcome, uploaded_bytes: runtime.metrics.finalize(outcome, uploaded_bytes)
        return runtime

    @property
    def metrics(self) -> Metrics:
        """Made when first counted or scraped, once (a worker thread and a request may come first together): a
        command that neither serves nor fails never loads prometheus_client (about 18 ms of each start)."""
        with self._metrics_made:
            if self._metrics is None:
                from app.metrics import Metrics

                self._metrics = Metrics(self.settings.data_folder, pending=lambda: self.records.pending_summary()[0])
            return self._metrics

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """``open`` plus the app's start-up checks; raises ``SettingsError`` when the app cannot run at all."""
        settings.decide_storage()  # refuse a half-set STORAGE_MODE=s3 before touching the disk
        settings.data_folder.mkdir(parents=True, exist_ok=True)
        if read_disk(settings.data_folder).read_only:
            raise SettingsError(f"DATA_FOLDER={settings.data_folder} is read-only: the app cannot keep records or "
                                "audio there. Mount the disk writable (or point DATA_FOLDER at it) and start again.")
        if not log.handlers:  # uvicorn configures only its own loggers
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        for key in LocalStorage(settings.data_folder).remove_partials():  # never referenced by a record
            log.info("removed an interrupted write: %s", key)
        runtime = cls.open(settings)
        if settings.on_render and settings.topology == "single" and not os.path.ismount(settings.data_folder.resolve()):
            runtime.startup_problems.append(Problem("error", (
                f"DATA_FOLDER={settings.data_folder} is not a mounted disk: on Render, files there "
                "vanish on the next deploy. Mount the service's disk at this path (render.yaml: disk.mountPath)."
            ), stops_traffic=True))
        for key in runtime.episodes.remove_unrecorded_audio():
            log.info("removed audio a crash left before its record was written: %s", key)
        for problem in runtime.startup_problems:
            log.warning("%s: %s", problem.severity, problem.message)
        log.info("storage mode: %s (data folder %s)", runtime.decision.mode, settings.data_folder)
        return runtime

    def problems(self) -> list[Problem]:
        found = list(self.startup_problems)
        found += disk_problems(read_disk(self.settings.data_folder), self.settings.data_folder,
                               self.settings.disk_degraded_percent, self.settings.disk_error_percent)
        if self.reconcile_error:
            found.append(Problem("warning", f"last reconcile pass failed: {self.reconcile_error}"))
        return found + self.watch.problems()

    def check_once(self) -> None:
        """The background health checks: the S3 probe needs no lock; the records' count does."""
        self.watch.probe()
        with self._busy:
            if not self._closed:
                self.watch.count_stranded()

    async def check_forever(self) -> None:
        import asyncio  # the serving app's loop only: a CLI command never loads asyncio

        while True:
            try:
                await asyncio.to_thread(self.check_once)
            except Exception:  # a bug: say so loudly, keep checking
                log.exception("health check crashed")
            await asyncio.sleep(self.settings.health_check_seconds)

    def reconcile_once(self, force: bool = False) -> None:
        with self._busy:
            if not self._closed:
                self._reconcile(force)

    def _reconcile(self, force: bool) -> None:
        try:
            report = self.episodes.reconcile(force=force)
            self.reconcile_error = None
        except StorageError as error:  # storage trouble is expected and retried; bugs propagate
            self.reconcile_error = str(error)
            log.warning("reconcile pass failed: %s", error)
            return
        if report.uploaded or report.local_copies_removed:
            log.info("reconciled: uploaded %s, removed local copies of %s",
                     report.uploaded, report.local_copies_removed)

    async def reconcile_forever(self) -> None:
        """A forced pass at start finishes whatever a crash left half-done; then retry as due."""
        import asyncio

        force = True
        while True:
            try:
                await asyncio.to_thread(self.reconcile_once, force)
                force = False
            except Exception as error:  # a bug: say so loudly, keep the loop (and the uploads) alive
                self.reconcile_error = f"{type(error).__name__}: {error}"
                log.exception("reconcile pass crashed")
            await asyncio.sleep(self.settings.reconcile_interval)

    def close(self) -> None:
        """Wait for a background pass still running in its thread (a cancelled task does not stop it), then
        close the records: closing them under it crashed the process."""
        with self._busy:
            self._closed = True
            self.records.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
