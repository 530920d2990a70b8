"""The app, killed with SIGKILL at the worst moment: after S3 verified an upload, before the record
commits it. Run as ``python -m tests.crash_app PORT`` with the app's environment set; the episode
named ``crash-here`` triggers it."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import uvicorn

from app.records import Records

_commit = Records.mark_stored


def _killing_commit(self: Records, episode_id: str, *args: Any) -> Any:
    if self.episode(episode_id).name == "crash-here":
        os.kill(os.getpid(), signal.SIGKILL)
    return _commit(self, episode_id, *args)


Records.mark_stored = _killing_commit  # type: ignore[method-assign]

if __name__ == "__main__":
    uvicorn.run("app.main:app", host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
