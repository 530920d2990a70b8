"""How the app's own log lines look; configured by the entry points (the ASGI app, the CLI), never on import."""

from __future__ import annotations

import logging


def configure_logging() -> None:
    """``ephitup`` log lines beside uvicorn's (it configures only its own loggers); once per process."""
    log = logging.getLogger("ephitup")
    if log.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
