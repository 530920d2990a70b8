"""What never reaches a log: a signed link's signature in uvicorn's access log; tracebacks for an expected outage."""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.background import every
from app.databases import DatabaseUnavailableError
from app.logs import configure_logging
from app.storage import StorageUnavailableError


def test_the_access_log_hides_the_signature_of_a_signed_audio_link() -> None:
    configure_logging()
    configure_logging()  # once per process, however often it is called
    access = logging.getLogger("uvicorn.access")
    record = access.makeRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/api/podcasts/episodes/e1/audio?expires=1796253205&"
                                "signature=a234707d2665", "1.1", 200), None)
    assert access.filter(record)  # the filters uvicorn's access logger applies before any handler
    line = logging.Formatter("%(message)s").format(record)
    assert "a234707d2665" not in line and "signature=<hidden>" in line and "expires=1796253205" in line
    assert sum(type(f).__name__ == "HideSignatures" for f in access.filters) == 1


@pytest.mark.parametrize("outage", [DatabaseUnavailableError("the records' database is unavailable"),
                                    StorageUnavailableError("S3 is unreachable")])
def test_an_outage_in_a_background_pass_logs_one_line_not_a_traceback(
        caplog: pytest.LogCaptureFixture, outage: Exception) -> None:
    calls = []

    def step() -> None:
        calls.append(1)
        raise outage

    async def two_passes() -> None:
        task = asyncio.create_task(every(0.01, step, "reconcile pass"))
        while len(calls) < 2:
            await asyncio.sleep(0.01)
        task.cancel()

    with caplog.at_level(logging.WARNING, logger="ephitup"):
        asyncio.run(two_passes())
    assert [r.levelname for r in caplog.records][:2] == ["WARNING", "WARNING"]
    assert all(r.exc_info is None for r in caplog.records) and "skipped" in caplog.records[0].getMessage()
