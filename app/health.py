"""What the app knows is wrong, in words: problems for ``/health`` and the log, and the data folder's disk.

A problem's ``severity`` says how bad it is (``warning``: degraded; ``error``: needs someone now);
``stops_traffic`` says whether Render should stop routing requests here (``/health`` answers 503), which
is right only when serving would do harm, such as writing to a disk that is not the persistent one. A
full disk still serves every episode, so it is an error, not a reason to cut listeners off.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from app.background import Gate, Reconciler, every
from app.backups import RecordsBackups
from app.records import Records
from app.storage import StorageAccessDeniedError, StorageError
from app.storage.stores import Stores


@dataclass(frozen=True)
class Problem:
    severity: Literal["warning", "error"]
    message: str
    stops_traffic: bool = False


@dataclass(frozen=True)
class DiskReading:
    total: int
    free: int  # bytes an unprivileged writer can still use
    read_only: bool

    @property
    def used_fraction(self) -> float:
        return 1 - self.free / self.total if self.total else 0.0


def read_disk(folder: Path) -> DiskReading:
    stats = os.statvfs(folder)
    read_only = bool(stats.f_flag & os.ST_RDONLY) or not os.access(folder, os.W_OK)
    return DiskReading(stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize, read_only)


def disk_problems(reading: DiskReading, folder: Path, degraded_percent: float, error_percent: float) -> list[Problem]:
    if reading.read_only:
        return [Problem("error", f"DATA_FOLDER={folder} is read-only: nothing can be stored (uploads answer 503). "
                                 "Check the disk's mount on the service, then restart it.")]
    used = 100 * reading.used_fraction
    where = (f"DATA_FOLDER={folder} is {used:.0f}% full ({reading.free / 2**30:.2f} GiB free of "
             f"{reading.total / 2**30:.2f} GiB)")
    fix = "grow the Render disk (sizeGB; it can grow, never shrink), or move audio to S3 (ephitup migrate to-s3)"
    if used >= error_percent:
        return [Problem("error", f"{where}: uploads will soon fail with 507. {fix}")]
    if used >= degraded_percent:
        return [Problem("warning", f"{where}. Before it fills: {fix}")]
    return []


def disk_error(error: Exception) -> tuple[int, str] | None:
    """The HTTP answer for a write the disk refused (507 full, 503 read-only or failing), or None."""
    if isinstance(error, sqlite3.OperationalError):
        text = str(error)
        if "full" in text:
            return 507, f"the data folder is full: the records cannot be written ({text})"
        return 503, f"the records cannot be written ({text}): check the data folder's disk"
    code = getattr(error, "errno", None)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return 507, "the data folder is full: nothing more can be stored until space is freed or the disk grows"
    if code in (errno.EROFS, errno.EACCES, errno.EIO):
        return 503, f"the data folder cannot be written ({os.strerror(code)}): check the disk's mount"  # type: ignore[arg-type]
    return None


MISSING_KEPT = 1000  # missing files remembered for /health; ``ephitup orphans`` finds them all


@dataclass(frozen=True)
class HealthLimits:
    """When the background checks run and what they call a problem (from the settings, by the root)."""

    interval: float = 15.0
    pending_alert_seconds: float = 15 * 60
    disk_degraded_percent: float = 80.0
    disk_error_percent: float = 95.0


class Watch:
    """What ``/health`` reads, and the background checks too slow or too costly for every request.

    ``probe()`` asks S3 for one tiny listing (bounded by the client's timeouts and the breaker);
    ``count_stranded()`` counts records that point into a store this app cannot reach (under the gate: it
    reads the records); ``problems()`` adds the cheap checks (the disk, pending uploads waiting too long,
    the reconciler's last failure) to the cached ones and to what start-up found.
    """

    def __init__(self, records: Records, stores: Stores, gate: Gate, limits: HealthLimits,
                 reconciler: Reconciler | None = None, backups: RecordsBackups | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.records, self.stores, self.gate, self.limits = records, stores, gate, limits
        self.reconciler, self.backups, self.clock = reconciler, backups, clock
        self.started = clock()
        self.startup: list[Problem] = []
        self.s3: list[Problem] = []
        self.stranded: list[Problem] = []
        self.missing: dict[str, None] = {}  # what plays found gone from its store (deleted behind the app's back)
        self.pending_count = 0  # as the last ``problems()`` read it
        self.more: list[Callable[[], list[Problem]]] = []  # what other parts report (the start-up clean-up)

    def note_missing(self, what: str) -> None:
        """A play found a record's file gone: an error until the process restarts (``ephitup orphans`` lists them
        all)."""
        self.missing[what] = None
        if len(self.missing) > MISSING_KEPT:
            del self.missing[next(iter(self.missing))]

    def once(self) -> None:
        """One round of the background checks: the S3 probe needs no gate; the records' count does."""
        self.probe()
        with self.gate.open() as usable:
            if usable:
                self.count_stranded()

    async def forever(self) -> None:
        await every(self.limits.interval, self.once, "health check")

    def probe(self) -> None:
        found: list[Problem] = []
        if self.stores.remote is not None:
            try:
                self.stores.remote.probe()
            except StorageAccessDeniedError as error:
                found.append(Problem("error", f"S3 refuses this app's credentials: {error}. New episodes stay on the "
                                              "disk, pending. Check the keys or role and its policy (ephitup verify)."))
            except StorageError as error:
                found.append(Problem("warning", f"S3 is not answering: {error}. New episodes stay on the disk, "
                                                "pending, and go up when it answers; check the network and "
                                                "S3_ENDPOINT_URL (ephitup verify)."))
        self.s3 = found

    def count_stranded(self) -> None:
        held = set() if self.stores.remote is None else self.stores.remote.names()
        counts = self.records.episodes_by_bucket(leaving_out=held)
        have = "no S3 configured" if self.stores.remote is None else self.stores.remote.name
        self.stranded = [Problem("error", f"{count} episode(s) point at s3://{bucket}/ but this app has {have}: their "
                                          "audio answers 503. Configure S3 for that bucket again, or bring the audio "
                                          "back first (ephitup migrate to-local) before turning S3 off.")
                         for bucket, count in sorted(counts.items())]

    def _backup_problems(self) -> list[Problem]:
        """A backup older than twice its interval (or none that long after start) is a problem."""
        if self.backups is None or self.records.engine != "sqlite":
            return []
        age, limit = self.backups.age(), 2 * self.backups.interval
        if (age if age is not None else self.clock() - self.started) <= limit:
            return []
        when = "none yet" if age is None else f"the last is {age / 60:.0f} min old"
        cause = f" (last error: {self.backups.error})" if self.backups.error else ""
        return [Problem("warning", f"no recent backup of the records: {when}, expected every "
                                   f"{self.backups.interval / 60:g} min{cause}. `ephitup records backup` takes one.")]

    def problems(self) -> list[Problem]:
        folder = self.stores.local.root
        reading = read_disk(folder)
        if not reading.read_only and not self.stores.local.writable():
            reading = dataclasses.replace(reading, read_only=True)
        found = [*self.startup, *disk_problems(reading, folder, self.limits.disk_degraded_percent,
                                               self.limits.disk_error_percent)]
        if self.reconciler is not None and self.reconciler.error:
            found.append(Problem("warning", f"last reconcile pass failed: {self.reconciler.error}"))
        found += self._backup_problems()
        if self.missing:
            last = next(reversed(self.missing))
            found.append(Problem("error", f"{len(self.missing)} record(s) point at a file missing from its store "
                                          f"(deleted outside the app?), the last: {last}. `ephitup orphans` lists "
                                          "every record whose data is gone."))
        count, oldest, last_error = self.records.pending_summary()
        self.pending_count = count  # for /health's trusted part, without asking again
        found += [*self.s3, *self.stranded, *(problem for report in self.more for problem in report())]
        if oldest is not None and self.clock() - oldest > self.limits.pending_alert_seconds:
            minutes = (self.clock() - oldest) / 60
            found.append(Problem("warning", f"{count} episode(s) wait to reach S3, the oldest for {minutes:.0f} min "
                                            f"(last error: {last_error}); they play from the disk meanwhile."))
        return found


_ARN = re.compile(r"arn:aws[\w-]*:[^\s'\"]+")
_S3_URL = re.compile(r"s3://[^\s/'\"]+")
_HTTP_URL = re.compile(r"https?://[^\s'\"]+")
# Object keys carry user ids and episode names: episodes/<user>/<id>/<file>, podcasts/episodes/<name>/..., uploads/...
_OBJECT_KEY = re.compile(r"\b(?:episodes|podcasts|uploads)/[^\s'\"]*")


def redacted(message: str) -> str:
    """A problem as the public may read it: no ARN (it names the account), no bucket name, no endpoint URL, and
    no object key (it names a user and an episode)."""
    message = _HTTP_URL.sub("<url>", _S3_URL.sub("s3://<bucket>", _ARN.sub("<arn>", message)))
    return _OBJECT_KEY.sub("<key>", message)
