"""A moto S3 server that keeps connections alive, so a benchmark measures the client, not reconnects.

``python -m moto.server`` runs on werkzeug's development server, which closes the connection after every
response, so each request of every tool pays a TCP handshake, and behind a delaying proxy a whole round
trip more. Real S3 keeps connections open. This serves moto's same WSGI app with uvicorn (already a
dependency: it serves the app), which keeps HTTP/1.1 connections alive.

Run: ``python -m benchmarks.keepalive_moto PORT [CERTIFICATE KEY]`` (with both: https).
"""

from __future__ import annotations

import os
import sys

import uvicorn
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app


def main() -> None:
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    certificate, key = sys.argv[2:4] or [None, None]  # with both: https
    uvicorn.run(DomainDispatcherApplication(create_backend_app), host="127.0.0.1", port=port,  # type: ignore[arg-type]
                interface="wsgi", log_level="warning", access_log=False, timeout_keep_alive=60,
                ssl_certfile=certificate, ssl_keyfile=key)


if __name__ == "__main__":
    main()
