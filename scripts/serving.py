"""Serving the app in this process (``serve``, ``dev``): with a settings object, never by editing ``os.environ``."""

from __future__ import annotations

import socket

from app.settings import Settings
from scripts.exit_codes import PortInUseError


def run_app(settings: Settings, label: str, host: str, port: int) -> None:
    """Serve the app built with ``settings``, saying where to look first."""
    import uvicorn

    from app.main import create_app

    with socket.socket() as probe:  # a clear error before uvicorn's own exit
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise PortInUseError(f"cannot listen on {host}:{port} ({error.strerror}): pick another with "
                                 "--port (make run PORT=...)") from None

    base = f"http://{host}:{port}"
    print(f"{label}: serving on {base}  (API {base}/openapi.json, health {base}/health); Ctrl-C stops", flush=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
