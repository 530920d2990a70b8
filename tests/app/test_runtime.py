"""The composition root starts and stops cleanly: background work ends before what it uses is closed."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.episodes import Episodes, ReconcileReport
from app.settings import Settings
from app.startup import start


def test_close_waits_for_a_reconcile_pass_still_running_in_its_thread(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = start(Settings.from_env({"DATA_FOLDER": str(tmp_path), "STORAGE_MODE": "local"}))
    in_pass, queried = threading.Event(), []

    def slow_pass(self: Episodes, force: bool = False) -> ReconcileReport:
        in_pass.set()
        time.sleep(0.5)
        queried.append(len(self.records.pending_uploads()))  # used the records after close() was called
        return ReconcileReport()

    monkeypatch.setattr(Episodes, "reconcile", slow_pass)
    background = threading.Thread(target=runtime.reconciler.once, args=(True,))
    background.start()
    assert in_pass.wait(5)
    runtime.close()  # returns only once the pass is over
    assert queried == [0]
    background.join(5)
    runtime.reconciler.once()  # a pass after close does nothing, and does not crash
    assert queried == [0]
