"""Child process for the memory test: stream one object through ``open_range`` and report peak RSS.

Run as ``python -m tests.support.stream_probe KEY`` with the S3 environment set. Prints JSON.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from app.runtime import s3_config
from app.settings import Settings
from app.storage.s3 import S3Storage


def peak_rss_kib(pid: int | str = "self") -> int:
    """A process's peak RSS. Not ``ru_maxrss``: that keeps the forking parent's peak across exec."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE).group(1))  # type: ignore[union-attr]


def main(key: str) -> None:
    storage = S3Storage(s3_config(Settings.from_env()))
    size = storage.stat(key).size  # client, connection pool and TLS-free HTTP all warmed up
    before = peak_rss_kib()
    received = sum(len(chunk) for chunk in storage.open_range(key))
    print(json.dumps({"size": size, "received": received, "before_kib": before, "after_kib": peak_rss_kib()}))


if __name__ == "__main__":
    main(sys.argv[1])
