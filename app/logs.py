"""How the app's own log lines look, and what never reaches a log; configured by the entry points (the ASGI app,
the CLI), never on import."""

from __future__ import annotations

import logging
import re

# A signed audio link is a bearer credential for hours: its signature never reaches the access log.
_SIGNATURE = re.compile(r"([?&]signature=)[^&\s]*")


class HideSignatures(logging.Filter):
    """Masks ``signature=`` in the request line of uvicorn's access log (its arguments: client, method, path,
    HTTP version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            if isinstance(path, str):
                record.args = (client, method, _SIGNATURE.sub(r"\1<hidden>", path), version, status)
        return True


def configure_logging() -> None:
    """``ephitup`` log lines beside uvicorn's (it configures only its own loggers); once per process."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideSignatures) for f in access.filters):
        access.addFilter(HideSignatures())
    log = logging.getLogger("ephitup")
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
