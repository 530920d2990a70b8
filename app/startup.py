"""The app's start: the checks that must pass before it serves, and the clean-up a crash may have left.

Run by the ASGI app's lifespan (``app.main``); ``ephitup status`` runs the same checks without serving.
"""

from __future__ import annotations

import logging
import os

from app.health import Problem, read_disk
from app.runtime import Runtime
from app.settings import Settings, SettingsError
from app.storage import LocalStorage, StorageError

log = logging.getLogger("ephitup")


def start(settings: Settings) -> Runtime:
    """The runtime, once the data folder is usable; raises ``SettingsError`` when the app cannot run at all."""
    settings.data_folder.mkdir(parents=True, exist_ok=True)
    if read_disk(settings.data_folder).read_only or not LocalStorage(settings.data_folder).writable():
        raise SettingsError(f"DATA_FOLDER={settings.data_folder} is read-only: the app cannot keep records or "
                            "audio there. Mount the disk writable (or point DATA_FOLDER at it) and start again.")
    runtime = Runtime.open(settings)
    runtime.watch.startup += startup_problems(settings)
    try:
        runtime.backups.find_last()
    except StorageError as error:  # S3 away at start: the first backup pass says how old the last one is
        log.warning("could not list the records' backups: %s", error)
    for problem in runtime.watch.startup:
        log.warning("%s: %s", problem.severity, problem.message)
    log.info("storage mode: %s (data folder %s)", settings.storage.mode, settings.data_folder)
    return runtime


def startup_problems(settings: Settings) -> list[Problem]:
    """What the settings alone say is wrong: a half-set S3 config, a data folder on Render that is not its disk."""
    found = [Problem("warning", message) for message in settings.storage.problems]
    if settings.on_render and settings.topology == "single" and not os.path.ismount(settings.data_folder.resolve()):
        found.append(Problem("error", (
            f"DATA_FOLDER={settings.data_folder} is not a mounted disk: on Render, files there "
            "vanish on the next deploy. Mount the service's disk at this path (render.yaml: disk.mountPath)."
        ), stops_traffic=True))
    return found
