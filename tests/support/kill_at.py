"""Run an ``ephitup`` command that SIGKILLs itself at one chosen point: a deterministic crash.

``python -m tests.support.kill_at before|after MODULE:CLASS.METHOD N -- ARGS...`` patches the method so that
its N-th call (counting from 1) kills the process just before it runs or just after it returned, then runs
``ephitup ARGS...`` (``serve`` for the app, ``migrate`` ...). The random kill -9 soak finds what a list of
points misses; this names each point a crash can come at, so each one is tested every run.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
from typing import Any

from scripts.cli import main


def arm(when: str, target: str, nth: int) -> None:
    module_name, _, attribute = target.partition(":")
    owner_name, _, method_name = attribute.rpartition(".")
    owner: Any = importlib.import_module(module_name)
    for part in owner_name.split(".") if owner_name else ():
        owner = getattr(owner, part)
    original = getattr(owner, method_name)
    calls, lock = [0], threading.Lock()

    def patched(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[0] += 1
            due = calls[0] == nth
        if due and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        if due:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, method_name, patched)


if __name__ == "__main__":
    when, target, nth, separator, *command = sys.argv[1:]
    assert when in ("before", "after") and separator == "--", __doc__
    arm(when, target, int(nth))
    sys.exit(main(command))
