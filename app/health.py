"""What the app knows is wrong, in words: problems for ``/health`` and the log, and the data folder's disk.

A problem's ``severity`` says how bad it is (``warning``: degraded; ``error``: needs someone now);
``stops_traffic`` says whether Render should stop routing requests here (``/health`` answers 503), which
is right only when serving would do harm, such as writing to a disk that is not the persistent one. A
full disk still serves every episode, so it is an error, not a reason to cut listeners off.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


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
