"""The running app's parts, assembled once from settings, and the background reconciler.

Render disks attach to one service only, so the reconciler runs inside the web process.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field

from app.episodes import Episodes
from app.records import Records
from app.settings import Settings, StorageDecision
from app.storage import LocalStorage, StorageError
from app.storage.s3 import S3Storage

log = logging.getLogger("ephitup")


@dataclass(frozen=True)
class Problem:
    severity: str  # "warning": runs degraded; "error": /health answers 503 (Render keeps the old deploy)
    message: str


@dataclass
class Runtime:
    settings: Settings
    decision: StorageDecision
    records: Records
    local: LocalStorage
    remote: S3Storage | None
    episodes: Episodes
    startup_problems: list[Problem] = field(default_factory=list)
    reconcile_error: str | None = None

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Build everything; raises ``SettingsError`` when the configuration cannot run at all."""
        if not log.handlers:  # uvicorn configures only its own loggers
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
            log.addHandler(handler)
            log.setLevel(logging.INFO)
        decision = settings.decide_storage()
        settings.data_folder.mkdir(parents=True, exist_ok=True)
        local = LocalStorage(settings.data_folder)
        for key in local.remove_partials():  # writes a crash interrupted: never referenced by a record
            log.info("removed an interrupted write: %s", key)
        remote = S3Storage(settings) if decision.mode == "s3" else None
        records = Records(settings.data_folder / "app.db")
        problems = [Problem("warning", message) for message in decision.problems]
        if settings.on_render and not os.path.ismount(settings.data_folder.resolve()):
            problems.append(Problem("error", (
                f"DATA_FOLDER={settings.data_folder} is not a mounted disk: on Render, files there "
                "vanish on the next deploy. Mount the service's disk at this path (render.yaml: disk.mountPath)."
            )))
        for problem in problems:
            log.warning("%s: %s", problem.severity, problem.message)
        log.info("storage mode: %s (data folder %s)", decision.mode, settings.data_folder)
        return cls(settings, decision, records, local, remote, Episodes(records, local, remote), problems)

    def problems(self) -> list[Problem]:
        found = list(self.startup_problems)
        if self.reconcile_error:
            found.append(Problem("warning", f"last reconcile pass failed: {self.reconcile_error}"))
        return found

    def reconcile_once(self, force: bool = False) -> None:
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
        self.records.close()
