"""A local stand-in for the part of Render's public API that key delivery calls, on 127.0.0.1.

Paths, methods and payloads follow Render's API reference (https://api-docs.render.com) and its SDK's
generated client: ``GET /v1/services?name=`` answers a list of ``{"cursor", "service"}``; env vars are
``PUT``/``DELETE /v1/services/{id}/env-vars/{key}`` with ``{"value"}``; deploys are ``POST
/v1/services/{id}/deploys`` (201, a deploy) and ``GET /v1/services/{id}/deploys/{deployId}``, whose
status goes ``build_in_progress`` then ``live``. Errors are ``{"id", "message"}``. Faults can be queued.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Fault:
    status: int
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RenderState:
    api_key: str
    services: dict[str, dict[str, Any]] = field(default_factory=dict)  # id: {"name", "env": {key: value}}
    deploys: dict[str, list[str]] = field(default_factory=dict)  # id: statuses still to report
    faults: list[Fault] = field(default_factory=list)  # answered, in order, before anything else
    calls: list[tuple[str, str]] = field(default_factory=list)  # (method, path): never a body
    deploy_statuses: tuple[str, ...] = ("build_in_progress", "live")  # what each new deploy reports, in turn
    # When set, a deploy runs it (on a thread, with the service's variables) and is live once it returns.
    deploy_hook: Callable[[dict[str, str]], None] | None = None

    def add_service(self, service_id: str, name: str) -> None:
        self.services[service_id] = {"name": name, "env": {}}


def _handler(state: RenderState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._handle("GET")

        def do_PUT(self) -> None:
            self._handle("PUT")

        def do_POST(self) -> None:
            self._handle("POST")

        def do_DELETE(self) -> None:
            self._handle("DELETE")

        def _handle(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            state.calls.append((method, url.path))
            if state.faults:
                fault = state.faults.pop(0)
                return self._send(fault.status, {"id": str(fault.status), "message": "stand-in fault"}, fault.headers)
            if self.headers.get("authorization") != f"Bearer {state.api_key}":
                return self._send(401, {"id": "unauthorized", "message": "unauthorized"})
            self._send(*_route(state, method, url.path, parse_qs(url.query), body))

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = b"" if status == 204 else json.dumps(payload).encode()
            self.send_response(status)
            for name, value in {"content-type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _route(state: RenderState, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
           ) -> tuple[int, Any]:
    if method == "GET" and path == "/v1/services":
        names = query.get("name", [])
        return 200, [{"cursor": service_id, "service": {"id": service_id, "name": service["name"],
                                                       "type": "web_service"}}
                     for service_id, service in state.services.items() if not names or service["name"] in names]
    match = re.fullmatch(r"/v1/services/([^/]+)/(env-vars|deploys)(?:/([^/]+))?", path)
    if not match or match[1] not in state.services:
        return 404, {"id": "not_found", "message": "service not found"}
    service, kind, item = state.services[match[1]], match[2], match[3]
    if kind == "env-vars" and method == "PUT" and item:
        service["env"][item] = body["value"]
        return 200, {"key": item, "value": body["value"]}
    if kind == "env-vars" and method == "DELETE" and item:
        if service["env"].pop(item, None) is None:
            return 404, {"id": "not_found", "message": "env var not found"}
        return 204, None
    if kind == "deploys" and method == "POST":
        deploy_id = f"dep-{len(state.deploys) + 1}"
        state.deploys[deploy_id] = list(state.deploy_statuses)
        if state.deploy_hook is not None:
            state.deploys[deploy_id] = ["build_in_progress"]
            hook, variables = state.deploy_hook, dict(service["env"])
            threading.Thread(target=lambda: (hook(variables), state.deploys[deploy_id].append("live"))).start()
        return 201, {"id": deploy_id, "status": "created", "trigger": "api"}
    if kind == "deploys" and method == "GET" and item in state.deploys:
        statuses = state.deploys[item]
        return 200, {"id": item, "status": statuses.pop(0) if len(statuses) > 1 else statuses[0]}
    return 404, {"id": "not_found", "message": "not found"}


@contextmanager
def render_stand_in(api_key: str) -> Iterator[tuple[RenderState, str]]:
    """The stand-in serving on a free port; yields its state and its base URL (``.../v1``)."""
    state = RenderState(api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
